"""A stage's shared pause (``etl_core.pause``) and how the worker runtime keeps it, on fakeredis
and on a real redis-server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from etl_core import keys
from etl_core.errors import StageBlocked
from etl_core.outcomes import Done
from etl_core.pause import PauseSource, StagePause
from etl_core.worker import Worker
from tests.etl_core.workerkit import CODEC, GROUP, STREAM, Recorder, fast_options, jobs, publish
from tests.support.polling import await_until, holds


async def test_a_manual_pause_is_shared_and_only_an_operator_lifts_it(aredis: Any) -> None:
    one, two = StagePause(aredis, GROUP), StagePause(aredis, GROUP)
    assert await one.state() is None and await one.check("a") == (None, False)
    stored = await one.pause("bill at risk")
    assert (stored.source, stored.reason, stored.until_ms) == (
        PauseSource.MANUAL,
        "bill at risk",
        None,
    )
    seen, trial = await two.check("b")
    assert seen is not None and seen.source is PauseSource.MANUAL and trial is False
    # A stage-wide failure meanwhile neither replaces it nor gets a trial.
    kept = await two.pause("OwmAuthError: 401", source=PauseSource.AUTO, retry_after_s=0)
    assert (kept.source, kept.reason) == (PauseSource.MANUAL, "bill at risk")
    assert (await two.check("b"))[1] is False
    assert await two.resume(only=PauseSource.AUTO) is False  # a trial cannot lift it
    assert await one.resume() is True
    assert await two.state() is None and await one.resume() is False


async def test_an_automatic_pause_hands_one_trial_at_a_time_once_due(aredis: Any) -> None:
    replicas = [StagePause(aredis, GROUP, trial_ttl_ms=60_000) for _ in range(4)]
    first = await replicas[0].pause("key refused", source=PauseSource.AUTO, retry_after_s=30)
    assert first.until_ms is not None and first.until_ms - first.server_time_ms == 30_000
    assert [t for _s, t in [await r.check(f"r{i}") for i, r in enumerate(replicas)]] == [False] * 4
    renewed = await replicas[1].pause("key refused", source=PauseSource.AUTO, retry_after_s=0)
    assert renewed.since_ms == first.since_ms  # renewed, not restarted
    results = await asyncio.gather(*(r.check(f"r{i}") for i, r in enumerate(replicas)))
    assert sorted(t for _s, t in results) == [False, False, False, True]
    assert all(s is not None for s, _t in results)
    # The trial found nothing to try: the token is free for the next caller.
    await replicas[0].trial_ended_without_task()
    assert (await replicas[2].check("r2"))[1] is True
    assert await replicas[2].resume(only=PauseSource.AUTO) is True
    assert not await aredis.exists(keys.stage_pause(GROUP), keys.stage_pause_trial(GROUP))


async def test_a_stage_wide_failure_pauses_the_stage_until_a_trial_passes(aredis: Any) -> None:
    await publish(aredis, jobs(20))
    world = {"broken": True}

    async def needs_the_world(_task: Any, _ctx: Any, _n: int) -> Done:
        if world["broken"]:
            raise StageBlocked("our key was refused")
        return Done()

    handler = Recorder(needs_the_world)
    worker = Worker(aredis, CODEC, handler, fast_options(concurrency=4, pause_trial_interval_s=0.2))
    running = asyncio.create_task(worker.run(until_idle=True))
    try:
        await await_until(
            holds(lambda: worker.pause_state is not None),
            timeout_s=20,
            message="the stage to pause",
        )
        paused_at = time.monotonic()
        in_hand = sum(handler.calls.values())
        assert in_hand <= 4  # at most the tasks read before the pause was known
        assert "our key was refused" in (worker.not_ready_reason() or "")
        # Paused: one trial task per interval reaches the handler, not twenty tasks each
        # retried every interval (which would make 100 calls a second).
        await await_until(
            holds(lambda: sum(handler.calls.values()) >= in_hand + 4),
            timeout_s=20,
            message="a few trials",
        )
        trials = sum(handler.calls.values()) - in_hand
        elapsed_s = time.monotonic() - paused_at
        assert trials <= elapsed_s / 0.2 + 2
        world["broken"] = False
        counts = await asyncio.wait_for(running, timeout=30)
    finally:
        worker.stop()
    assert counts.done == 20 and counts.retried == 0 and counts.dead_lettered == 0
    assert worker.pause_state is None and worker.not_ready_reason() is None
    assert not await aredis.exists(keys.stage_pause(GROUP))
    assert await aredis.xlen(keys.dead_letter_stream(STREAM)) == 0


async def test_a_manually_paused_stage_starts_nothing_until_resumed(aredis: Any) -> None:
    pause = StagePause(aredis, GROUP)
    await pause.pause("provider incident", source=PauseSource.MANUAL)
    await publish(aredis, jobs(5))
    handler = Recorder()
    worker = Worker(aredis, CODEC, handler, fast_options())
    running = asyncio.create_task(worker.run(until_idle=True))
    try:
        await await_until(
            holds(lambda: worker.pause_state is not None),
            timeout_s=20,
            message="the worker to see the pause",
        )
        # Several pause polls later, still nothing read and nothing started.
        loops = 0
        while loops < 10:
            before = worker.last_loop_monotonic
            await await_until(
                holds(lambda b=before: worker.last_loop_monotonic > b),  # type: ignore[misc]
                timeout_s=20,
                message="the read loop to go round",
            )
            loops += 1
        assert handler.calls == {}
        assert int((await aredis.xpending(STREAM, GROUP))["pending"]) == 0
        assert "provider incident" in (worker.not_ready_reason() or "")
        assert await pause.resume() is True
        counts = await asyncio.wait_for(running, timeout=30)
    finally:
        worker.stop()
    assert counts.done == 5 and set(handler.calls.values()) == {1}


@pytest.mark.parametrize("bad", [{"trial_ttl_ms": 0}, {"stage": ""}])
def test_invalid_pause_arguments_are_refused(bad: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"stage": GROUP, "trial_ttl_ms": 1000} | bad
    with pytest.raises(ValueError):
        StagePause(object(), arguments.pop("stage"), **arguments)
