"""What happens to an entry: pure decisions, no I/O; the runtime only carries them out.

``outcome_of_error`` maps what a handler raised to an outcome; ``settlement_for`` maps an outcome
to the settlement the runtime applies (and the counter it moves). Entries settled without a
handler are decided here too: a poison entry (``poison``), a crash loop (``before_run``), a task
already done (``already_done``), a task handed back while the stage is paused (``handed_back``).
Attempts are counted here:

* ``attempts`` (entry field): attempts spent by earlier deliveries;
* ``delivered`` (pending-list delivery count of this entry): > 1 means earlier deliveries of the
  very same entry ended without an outcome (a crash, a kill, a timeout of the whole process).

So ``deliveries = attempts + delivered`` counts crashes too. A retry that spends an attempt past
``max_deliveries`` goes to the dead-letter stream, and so does an entry delivered more than
``max_deliveries`` times before it gets to run (its earlier deliveries crashed); a wait (rate
limit, open breaker) keeps the count it had. A stage-wide failure (``StageBlocked``) also asks the
runtime to pause the stage.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from etl_core.backoff import compute_backoff_s
from etl_core.deadletter import dead_letter_fields
from etl_core.errors import (
    PermanentError,
    PoisonMessage,
    StageBlocked,
    TaskError,
    TransientError,
    WaitAndRetry,
)
from etl_core.outcomes import Done, Fail, Forward, Outcome, Retry
from etl_core.task import FIELD_ATTEMPTS, TaskCodec
from etl_core.worker.options import WorkerOptions
from etl_core.worker.settle import Settlement


def outcome_of_error(exc: BaseException, *, handler_timeout_s: float) -> Outcome:
    """The outcome for an exception a handler raised (``TimeoutError``: it ran too long)."""
    if isinstance(exc, TimeoutError):
        return Retry("HandlerTimeout", f"handler took longer than {handler_timeout_s} s")
    if isinstance(exc, StageBlocked):
        return Retry(
            exc.error_type,
            str(exc),
            delay_s=exc.retry_after_s,
            spend_attempt=False,
            pause_stage=True,
        )
    if isinstance(exc, WaitAndRetry):
        return Retry(exc.error_type, str(exc), delay_s=exc.retry_after_s, spend_attempt=False)
    if isinstance(exc, PermanentError):
        return Fail(exc.error_type, str(exc))
    if isinstance(exc, TransientError | TaskError):  # a TaskError of no family: transient
        return Retry(exc.error_type, str(exc), delay_s=exc.retry_after_s)
    return Retry(type(exc).__name__, str(exc) or type(exc).__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    settlement: Settlement
    kind: str  # the counter it moves: done, forwarded, retried, waited, dead_lettered, already_done
    error_type: str | None = None
    log_event: str | None = None  # a warning or info line worth writing, if any
    delay_s: float | None = None
    pause_reason: str | None = None  # the stage must pause, for this reason


class Policy:
    def __init__(self, options: WorkerOptions, forward_codec: TaskCodec) -> None:
        self.options = options
        self.forward_codec = forward_codec

    def dead(
        self, entry_id: str, fields: dict[str, str], error_type: str, message: str, deliveries: int
    ) -> Decision:
        o = self.options
        dead = dead_letter_fields(
            fields,
            error_type=error_type,
            error=message,
            stage=o.group,
            consumer=o.consumer,
            deliveries=deliveries,
            source_stream=o.stream,
            source_id=entry_id,
        )
        return Decision(Settlement("dead", entry_id, dead_fields=dead), "dead_lettered", error_type)

    def poison(
        self, entry_id: str, fields: dict[str, str], error: PoisonMessage, delivered: int
    ) -> Decision:
        """An entry that cannot be decoded into a task: no retry can help, dead-letter it."""
        return self.dead(entry_id, fields, error.error_type, str(error), delivered)

    def before_run(
        self, entry_id: str, fields: dict[str, str], *, attempts: int, delivered: int
    ) -> Decision | None:
        """None: run the task. Else the decision for an entry already delivered more than
        ``max_deliveries`` times: its earlier deliveries ended without an outcome (a crash, a
        kill), so running it again would likely crash again; the crash loop ends in the
        dead-letter stream, counting the deliveries that ran."""
        max_deliveries = self.options.max_deliveries
        deliveries = attempts + delivered
        if deliveries <= max_deliveries:
            return None
        message = (
            f"delivered {deliveries} times (max_deliveries={max_deliveries}); "
            f"{delivered - 1} deliveries ended without an outcome (crash or timeout)"
        )
        decision = self.dead(entry_id, fields, "MaxDeliveriesExceeded", message, deliveries - 1)
        return dataclasses.replace(decision, log_event="max_deliveries_exceeded")

    def already_done(self, entry_id: str, task_id: str) -> Decision:
        """A task this stage finished before (its done mark exists): ack it without running; the
        mark is renewed, not counted again (``tally=False``)."""
        return Decision(Settlement("ack", entry_id, task_id, tally=False), "already_done")

    def settlement_for(
        self,
        outcome: Outcome,
        *,
        entry_id: str,
        fields: dict[str, str],
        attempts: int,
        delivered: int,
        done_mark: str,
        trial: bool = False,
    ) -> Decision:
        """``trial``: the task ran as the trial of an automatic pause. Its retry, whatever the
        reason, says the pause is not over: the stage's probe failed, not the task, so it spends
        no attempt and renews the pause."""
        o = self.options
        deliveries = attempts + delivered
        if (
            trial
            and isinstance(outcome, Retry)
            and (outcome.spend_attempt or not outcome.pause_stage)
        ):
            outcome = Retry(
                outcome.error_type,
                outcome.message,
                delay_s=outcome.delay_s if not outcome.spend_attempt else None,
                spend_attempt=False,
                pause_stage=True,
            )
        if isinstance(outcome, Done):
            return Decision(Settlement("ack", entry_id, done_mark), "done")
        if isinstance(outcome, Forward):
            target = outcome.stream or o.forward_stream
            if target is None:
                return self.dead(
                    entry_id,
                    fields,
                    "ConfigurationError",
                    "handler forwarded tasks but the worker has no forward_stream",
                    deliveries,
                )
            forwards = [(target, self.forward_codec.encode(t)) for t in outcome.tasks]
            return Decision(Settlement("fwd", entry_id, done_mark, forwards=forwards), "forwarded")
        if isinstance(outcome, Fail):
            decision = self.dead(entry_id, fields, outcome.error_type, outcome.message, deliveries)
            return Decision(decision.settlement, decision.kind, outcome.error_type, "task_failed")
        if outcome.spend_attempt and deliveries >= o.max_deliveries:
            message = f"{outcome.message} (gave up after {deliveries} deliveries)"
            decision = self.dead(entry_id, fields, outcome.error_type, message, deliveries)
            return Decision(
                decision.settlement, decision.kind, outcome.error_type, "task_retries_exhausted"
            )
        kept = deliveries if outcome.spend_attempt else deliveries - 1
        delay_s = outcome.delay_s
        if delay_s is None and outcome.pause_stage:
            delay_s = o.pause_trial_interval_s
        if delay_s is None:
            delay_s = compute_backoff_s(
                max(kept, 1), base_s=o.retry_backoff_base_s, max_s=o.retry_backoff_max_s
            )
        member = json.dumps({**fields, FIELD_ATTEMPTS: str(kept)}, sort_keys=True)
        return Decision(
            Settlement("retry", entry_id, delay_ms=int(delay_s * 1000), member=member),
            "retried" if outcome.spend_attempt else "waited",
            outcome.error_type,
            "task_retry_scheduled",
            delay_s,
            f"{outcome.error_type}: {outcome.message}" if outcome.pause_stage else None,
        )

    def handed_back(
        self, entry_id: str, fields: dict[str, str], *, attempts: int, delivered: int, reason: str
    ) -> Decision:
        """A task read but not started because the stage is paused: back to wait, no attempt
        spent; it is read again once the stage runs."""
        return self.settlement_for(
            Retry(
                "StagePaused",
                reason,
                delay_s=self.options.pause_poll_ms / 1000,
                spend_attempt=False,
            ),
            entry_id=entry_id,
            fields=fields,
            attempts=attempts,
            delivered=delivered,
            done_mark="",
        )
