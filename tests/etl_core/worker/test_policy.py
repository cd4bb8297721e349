"""The policy's decisions, pinned without Redis: what each error family becomes (retry, wait, dead
letter, pause), how attempts and deliveries are counted, and which delay a retry gets."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from etl_core import deadletter
from etl_core.errors import (
    BreakerOpen,
    PermanentError,
    PoisonMessage,
    RateLimited,
    RedisUnavailable,
    StageBlocked,
    TaskError,
    TransientError,
)
from etl_core.outcomes import Done, Fail, Forward, Outcome, Retry
from etl_core.task import FIELD_ATTEMPTS
from etl_core.worker.options import WorkerOptions
from etl_core.worker.policy import Decision, Policy, outcome_of_error
from tests.etl_core.workerkit import CODEC, GROUP, NEXT, STREAM, Job, NextJob

ENTRY = "1700000000000-0"
TASK = Job(location_id="loc-1", window="w1")
MAX_DELIVERIES = 4
BASE_S, MAX_S = 2.0, 10.0
TRIAL_INTERVAL_S = 15.0
PAUSE_POLL_MS = 700


def policy(**overrides: Any) -> Policy:
    options: dict[str, Any] = {
        "stream": STREAM,
        "group": GROUP,
        "consumer": "consumer-1",
        "forward_stream": NEXT,
        "max_deliveries": MAX_DELIVERIES,
        "retry_backoff_base_s": BASE_S,
        "retry_backoff_max_s": MAX_S,
        "pause_trial_interval_s": TRIAL_INTERVAL_S,
        "pause_poll_ms": PAUSE_POLL_MS,
    }
    options.update(overrides)
    return Policy(WorkerOptions(**options), CODEC)


def decide(
    outcome: Outcome,
    *,
    attempts: int = 0,
    delivered: int = 1,
    trial: bool = False,
    of: Policy | None = None,
) -> Decision:
    return (of or policy()).settlement_for(
        outcome,
        entry_id=ENTRY,
        fields=CODEC.encode(TASK, attempts=attempts),
        attempts=attempts,
        delivered=delivered,
        done_mark=TASK.task_id,
        trial=trial,
    )


def kept_attempts(decision: Decision) -> int:
    """The attempts field the retried entry carries back into the stream."""
    return int(json.loads(decision.settlement.member)[FIELD_ATTEMPTS])


@pytest.fixture
def top_of_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every backoff draws the top of its jitter range, so delays are exact."""
    monkeypatch.setattr(random, "uniform", lambda a, b: b)


# -- what an error becomes -------------------------------------------------------------------


def test_a_timeout_is_a_retry_that_spends_an_attempt() -> None:
    outcome = outcome_of_error(TimeoutError(), handler_timeout_s=3.0)
    assert outcome == Retry("HandlerTimeout", "handler took longer than 3.0 s")


def test_a_transient_error_is_a_retry_that_spends_an_attempt_after_its_retry_after() -> None:
    assert outcome_of_error(TransientError("503"), handler_timeout_s=1) == Retry(
        "TransientError", "503"
    )
    assert outcome_of_error(TransientError("503", retry_after_s=4.5), handler_timeout_s=1) == Retry(
        "TransientError", "503", delay_s=4.5
    )


def test_a_task_error_of_no_family_is_transient() -> None:
    assert outcome_of_error(TaskError("odd"), handler_timeout_s=1) == Retry("TaskError", "odd")


def test_an_unexpected_exception_is_a_retry_named_after_its_type() -> None:
    assert outcome_of_error(KeyError("k"), handler_timeout_s=1) == Retry("KeyError", "'k'")
    assert outcome_of_error(ValueError(), handler_timeout_s=1) == Retry("ValueError", "ValueError")


@pytest.mark.parametrize("error", [PermanentError("400"), PoisonMessage("bad entry")])
def test_a_permanent_error_fails_the_task(error: PermanentError) -> None:
    assert outcome_of_error(error, handler_timeout_s=1) == Fail(type(error).__name__, str(error))


@pytest.mark.parametrize("error", [RateLimited("429"), RedisUnavailable("down")])
def test_a_wait_spends_no_attempt_and_pauses_nothing(error: TaskError) -> None:
    error.retry_after_s = 6.0
    outcome = outcome_of_error(error, handler_timeout_s=1)
    assert outcome == Retry(
        type(error).__name__, str(error), delay_s=6.0, spend_attempt=False, pause_stage=False
    )


@pytest.mark.parametrize("error", [StageBlocked("key refused"), BreakerOpen("open")])
def test_a_stage_wide_failure_waits_and_pauses_the_stage(error: StageBlocked) -> None:
    outcome = outcome_of_error(error, handler_timeout_s=1)
    assert outcome == Retry(
        type(error).__name__, str(error), delay_s=None, spend_attempt=False, pause_stage=True
    )


# -- finished tasks --------------------------------------------------------------------------


def test_done_acks_with_the_done_mark() -> None:
    decision = decide(Done())
    assert (decision.kind, decision.settlement.kind) == ("done", "ack")
    assert decision.settlement.done_mark == TASK.task_id
    assert decision.log_event is None


def test_forward_encodes_the_tasks_for_the_forward_stream_or_the_one_named() -> None:
    next_task = NextJob(location_id="loc-1", window="w1")
    decision = decide(Forward([next_task]))
    assert (decision.kind, decision.settlement.kind) == ("forwarded", "fwd")
    assert list(decision.settlement.forwards) == [(NEXT, CODEC.encode(next_task))]
    elsewhere = decide(Forward([next_task], stream="other"))
    assert [target for target, _ in elsewhere.settlement.forwards] == ["other"]


def test_forward_without_a_forward_stream_is_dead_lettered_as_a_configuration_error() -> None:
    decision = decide(Forward([TASK]), of=policy(forward_stream=None))
    assert (decision.kind, decision.error_type) == ("dead_lettered", "ConfigurationError")


def test_fail_is_dead_lettered_with_why_and_where() -> None:
    decision = decide(Fail("PermanentError", "unknown location"), attempts=1, delivered=1)
    assert (decision.kind, decision.settlement.kind) == ("dead_lettered", "dead")
    assert (decision.error_type, decision.log_event) == ("PermanentError", "task_failed")
    dead = decision.settlement.dead_fields
    assert dead[deadletter.ERROR_TYPE] == "PermanentError"
    assert dead[deadletter.ERROR] == "unknown location"
    assert dead[deadletter.STAGE] == GROUP and dead[deadletter.CONSUMER] == "consumer-1"
    assert dead[deadletter.SOURCE_STREAM] == STREAM and dead[deadletter.SOURCE_ID] == ENTRY
    assert dead[deadletter.DELIVERIES] == "2"
    assert dead["task_id"] == TASK.task_id  # the original fields are kept


def test_dead_letters_the_entry_with_its_deliveries() -> None:
    decision = policy().dead(ENTRY, CODEC.encode(TASK), "PoisonMessage", "no payload", 3)
    assert (decision.kind, decision.error_type) == ("dead_lettered", "PoisonMessage")
    assert decision.settlement.dead_fields[deadletter.DELIVERIES] == "3"


# -- attempts and deliveries -----------------------------------------------------------------


def test_a_retry_counts_this_delivery_into_the_attempts_field() -> None:
    decision = decide(Retry("TransientError", "503"), attempts=1, delivered=1)
    assert (decision.kind, decision.settlement.kind) == ("retried", "retry")
    assert decision.log_event == "task_retry_scheduled"
    assert kept_attempts(decision) == 2
    assert decision.settlement.entry_id == ENTRY


def test_crashed_deliveries_count_as_attempts() -> None:
    # Two earlier deliveries of this very entry ended without an outcome (a crash, a kill).
    decision = decide(Retry("TransientError", "503"), attempts=0, delivered=3)
    assert kept_attempts(decision) == 3


def test_the_retry_that_reaches_max_deliveries_is_dead_lettered() -> None:
    last_allowed = decide(Retry("TransientError", "503"), attempts=MAX_DELIVERIES - 2)
    assert last_allowed.kind == "retried"
    exhausted = decide(Retry("TransientError", "503"), attempts=MAX_DELIVERIES - 1)
    assert (exhausted.kind, exhausted.log_event) == ("dead_lettered", "task_retries_exhausted")
    assert exhausted.error_type == "TransientError"
    dead = exhausted.settlement.dead_fields
    assert dead[deadletter.DELIVERIES] == str(MAX_DELIVERIES)
    assert dead[deadletter.ERROR] == f"503 (gave up after {MAX_DELIVERIES} deliveries)"


def test_crashes_bring_the_dead_letter_closer() -> None:
    decision = decide(Retry("TransientError", "503"), attempts=1, delivered=MAX_DELIVERIES - 1)
    assert decision.kind == "dead_lettered"


def test_a_wait_keeps_the_attempts_it_had_even_at_max_deliveries() -> None:
    for attempts in (0, MAX_DELIVERIES - 1, MAX_DELIVERIES + 3):
        decision = decide(
            Retry("RateLimited", "429", delay_s=2.0, spend_attempt=False), attempts=attempts
        )
        assert (decision.kind, decision.error_type) == ("waited", "RateLimited")
        assert kept_attempts(decision) == attempts


def test_a_wait_after_crashes_keeps_the_crashes_counted() -> None:
    decision = decide(Retry("RateLimited", "429", spend_attempt=False), attempts=1, delivered=3)
    assert kept_attempts(decision) == 3  # the two crashed deliveries stay spent


# -- delays ----------------------------------------------------------------------------------


def test_a_retry_after_is_honoured_exactly() -> None:
    decision = decide(Retry("TransientError", "503", delay_s=12.5))
    assert (decision.delay_s, decision.settlement.delay_ms) == (12.5, 12_500)
    waited = decide(Retry("RateLimited", "429", delay_s=0.25, spend_attempt=False))
    assert waited.settlement.delay_ms == 250


@pytest.mark.usefixtures("top_of_jitter")
def test_the_backoff_grows_with_the_attempts_spent_up_to_the_cap() -> None:
    ceilings = [
        decide(Retry("TransientError", "503"), attempts=a, of=policy(max_deliveries=10)).delay_s
        for a in range(5)
    ]
    assert ceilings == [BASE_S, 2 * BASE_S, 4 * BASE_S, MAX_S, MAX_S]


@pytest.mark.usefixtures("top_of_jitter")
def test_a_wait_with_no_delay_backs_off_on_the_attempts_it_keeps() -> None:
    first = decide(Retry("RedisUnavailable", "down", spend_attempt=False), attempts=0)
    assert first.delay_s == BASE_S  # no attempt spent yet: the first step
    later = decide(Retry("RedisUnavailable", "down", spend_attempt=False), attempts=2)
    assert later.delay_s == 2 * BASE_S


def test_backoff_delays_are_jittered_within_zero_to_the_ceiling() -> None:
    delays = [
        decide(Retry("TransientError", "503"), attempts=1).settlement.delay_ms for _ in range(300)
    ]
    ceiling_ms = 2 * BASE_S * 1000
    assert all(0 <= d <= ceiling_ms for d in delays)
    assert min(delays) < ceiling_ms / 4 and max(delays) > ceiling_ms * 3 / 4
    assert len(set(delays)) > 100  # spread, not one synchronized wave


# -- pausing the stage -----------------------------------------------------------------------


def test_a_stage_wide_failure_pauses_for_its_retry_after_or_the_trial_interval() -> None:
    known = decide(Retry("BreakerOpen", "open", delay_s=30, spend_attempt=False, pause_stage=True))
    assert (known.kind, known.delay_s) == ("waited", 30)
    assert known.pause_reason == "BreakerOpen: open"
    unknown = decide(Retry("StageBlocked", "key refused", spend_attempt=False, pause_stage=True))
    assert unknown.delay_s == TRIAL_INTERVAL_S
    assert unknown.pause_reason == "StageBlocked: key refused"


def test_an_ordinary_retry_pauses_nothing() -> None:
    assert decide(Retry("TransientError", "503")).pause_reason is None
    assert decide(Retry("RateLimited", "429", spend_attempt=False)).pause_reason is None


def test_a_trial_that_retries_spends_no_attempt_and_renews_the_pause() -> None:
    # A transient failure of the trial: the stage's probe failed, not the task.
    decision = decide(Retry("TransientError", "503", delay_s=3), attempts=2, trial=True)
    assert decision.kind == "waited"
    assert kept_attempts(decision) == 2
    assert decision.delay_s == TRIAL_INTERVAL_S  # its own delay was a backoff, not the stage's
    assert decision.pause_reason == "TransientError: 503"


def test_a_trial_that_waits_keeps_its_delay_and_renews_the_pause() -> None:
    decision = decide(Retry("RateLimited", "429", delay_s=40, spend_attempt=False), trial=True)
    assert (decision.kind, decision.delay_s) == ("waited", 40)
    assert decision.pause_reason == "RateLimited: 429"


def test_a_trial_at_max_deliveries_is_not_dead_lettered() -> None:
    decision = decide(Retry("TransientError", "503"), attempts=MAX_DELIVERIES - 1, trial=True)
    assert decision.kind == "waited"


def test_a_trial_that_succeeds_or_fails_for_good_is_settled_as_any_task() -> None:
    assert decide(Done(), trial=True).kind == "done"
    assert decide(Fail("PermanentError", "400"), trial=True).kind == "dead_lettered"


def test_a_task_handed_back_unstarted_while_paused_waits_one_pause_poll() -> None:
    decision = policy().handed_back(
        ENTRY, CODEC.encode(TASK, attempts=1), attempts=1, delivered=1, reason="paused by ops"
    )
    assert (decision.kind, decision.error_type) == ("waited", "StagePaused")
    assert decision.settlement.delay_ms == PAUSE_POLL_MS
    assert kept_attempts(decision) == 1
    assert decision.pause_reason is None


# -- entries settled without running ---------------------------------------------------------


def test_a_poison_entry_is_dead_lettered_with_the_decoding_error() -> None:
    decision = policy().poison(ENTRY, {"junk": "x"}, PoisonMessage("entry lacks field(s) type"), 2)
    assert (decision.kind, decision.error_type) == ("dead_lettered", "PoisonMessage")
    dead = decision.settlement.dead_fields
    assert dead[deadletter.ERROR] == "entry lacks field(s) type"
    assert dead[deadletter.DELIVERIES] == "2" and dead["junk"] == "x"


def test_an_entry_within_max_deliveries_runs() -> None:
    fields = CODEC.encode(TASK, attempts=1)
    assert policy().before_run(ENTRY, fields, attempts=1, delivered=MAX_DELIVERIES - 1) is None
    assert policy().before_run(ENTRY, fields, attempts=0, delivered=MAX_DELIVERIES) is None


def test_a_crash_loop_ends_in_the_dead_letter_stream_without_running() -> None:
    # Delivered once more than allowed: three of its deliveries ended without an outcome.
    fields = CODEC.encode(TASK, attempts=1)
    decision = policy().before_run(ENTRY, fields, attempts=1, delivered=MAX_DELIVERIES)
    assert decision is not None
    assert (decision.kind, decision.error_type) == ("dead_lettered", "MaxDeliveriesExceeded")
    assert decision.log_event == "max_deliveries_exceeded"
    dead = decision.settlement.dead_fields
    assert dead[deadletter.DELIVERIES] == str(MAX_DELIVERIES)  # the deliveries that ran
    assert dead[deadletter.ERROR] == (
        f"delivered {MAX_DELIVERIES + 1} times (max_deliveries={MAX_DELIVERIES}); "
        f"{MAX_DELIVERIES - 1} deliveries ended without an outcome (crash or timeout)"
    )


def test_a_task_already_done_is_acked_renewing_its_mark_without_counting_it() -> None:
    decision = policy().already_done(ENTRY, TASK.task_id)
    assert decision.kind == "already_done"
    settlement = decision.settlement
    assert (settlement.kind, settlement.entry_id, settlement.done_mark) == (
        "ack",
        ENTRY,
        TASK.task_id,
    )
    assert settlement.tally is False
