"""Behaviour of the worker runtime, on fakeredis and on a real redis-server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.exceptions
import redis.sentinel
from structlog.testing import capture_logs

from etl_core import keys
from etl_core.dedup import DedupMarks
from etl_core.errors import BreakerOpen, PermanentError, RateLimited, TransientError
from etl_core.outcomes import Done, Fail, Forward, Retry
from etl_core.worker import Worker
from etl_core.worker.hooks import WorkerHooks
from tests.etl_core.workerkit import (
    CODEC,
    GROUP,
    NEXT,
    STREAM,
    Job,
    NextJob,
    Recorder,
    fast_options,
    jobs,
    publish,
    run_until_idle,
)
from tests.support.polling import await_until


async def pending_count(client: Any) -> int:
    return int((await client.xpending(STREAM, GROUP))["pending"])


async def test_every_task_is_handled_once_and_acked(aredis: Any) -> None:
    await publish(aredis, jobs(50))
    handler = Recorder()
    worker = await run_until_idle(aredis, handler)
    assert len(handler.calls) == 50 and set(handler.calls.values()) == {1}
    assert worker.counts.done == 50
    assert await pending_count(aredis) == 0
    marks = DedupMarks(STREAM, GROUP)
    assert await marks.done_among(aredis, [jobs(1)[0].task_id]) == {jobs(1)[0].task_id}


async def test_forward_and_ack_hand_over_exactly_once(aredis: Any) -> None:
    await publish(aredis, jobs(30))

    async def forward(task: Any, _ctx: Any, _n: int) -> Forward:
        return Forward([NextJob(location_id=task.location_id, window=task.window)])

    worker = await run_until_idle(aredis, Recorder(forward), forward_stream=NEXT)
    assert worker.counts.forwarded == 30
    entries = await aredis.xrange(NEXT)
    ids = [CODEC.decode(fields).task.task_id for _id, fields in entries]
    assert sorted(ids) == sorted(f"test.next:loc-{i}@w1" for i in range(30))
    assert await pending_count(aredis) == 0


async def test_transient_errors_retry_with_backoff_then_succeed(aredis: Any) -> None:
    await publish(aredis, jobs(10))

    async def flaky(_task: Any, _ctx: Any, n: int) -> Done:
        if n < 3:
            raise TransientError("upstream 503")
        return Done()

    handler = Recorder(flaky)
    worker = await run_until_idle(aredis, handler, max_deliveries=5)
    assert set(handler.calls.values()) == {3}
    assert worker.counts.retried == 20 and worker.counts.done == 10
    assert [c.attempts for c in handler.contexts if c.entry_id][:1] == [0]
    assert await aredis.xlen(keys.dead_letter_stream(STREAM)) == 0


async def test_retries_exhausted_go_to_the_dead_letter_stream(aredis: Any) -> None:
    await publish(aredis, jobs(3))

    async def always(_task: Any, _ctx: Any, _n: int) -> Retry:
        return Retry("UpstreamDown", "still 503")

    handler = Recorder(always)
    worker = await run_until_idle(aredis, handler, max_deliveries=4)
    assert set(handler.calls.values()) == {4}  # exactly max_deliveries attempts
    assert worker.counts.dead_lettered == 3
    dead = await aredis.xrange(keys.dead_letter_stream(STREAM))
    assert len(dead) == 3
    fields = {k.decode(): v.decode() for k, v in dead[0][1].items()}
    assert fields["dlq_error_type"] == "UpstreamDown"
    assert "gave up after 4 deliveries" in fields["dlq_error"]
    assert fields["dlq_deliveries"] == "4"
    assert fields["dlq_stage"] == GROUP and fields["dlq_source_stream"] == STREAM
    assert fields["task_id"].startswith("test.job:") and fields["payload"].startswith("{")
    assert int(fields["dlq_failed_at_ms"]) > 0


async def test_permanent_errors_dead_letter_at_once(aredis: Any) -> None:
    await publish(aredis, jobs(4))

    async def reject(task: Any, _ctx: Any, _n: int) -> Any:
        if task.location_id == "loc-0":
            return Fail("UnknownLocation", "no such location")
        raise PermanentError("401 Invalid API key")

    handler = Recorder(reject)
    worker = await run_until_idle(aredis, handler)
    assert set(handler.calls.values()) == {1}
    assert worker.counts.by_error_type == {"UnknownLocation": 1, "PermanentError": 3}
    assert await aredis.xlen(keys.dead_letter_stream(STREAM)) == 4
    assert await pending_count(aredis) == 0


@pytest.mark.parametrize("error", [RateLimited, BreakerOpen])
async def test_waiting_spends_no_attempt(aredis: Any, error: type[Exception]) -> None:
    await publish(aredis, jobs(2))

    async def busy(_task: Any, _ctx: Any, n: int) -> Done:
        if n <= 6:  # more waits than max_deliveries allows attempts
            raise error("slow down", retry_after_s=0.005)  # type: ignore[call-arg]
        return Done()

    handler = Recorder(busy)
    worker = await run_until_idle(aredis, handler, max_deliveries=2)
    assert set(handler.calls.values()) == {7}
    assert worker.counts.done == 2
    if error is RateLimited:
        assert worker.counts.waited == 12
    else:  # the open breaker pauses the stage: a task read meanwhile is handed back unstarted
        assert worker.counts.waited >= 12
        assert worker.counts.by_error_type["BreakerOpen"] == 12
    assert worker.counts.retried == 0
    assert await aredis.xlen(keys.dead_letter_stream(STREAM)) == 0


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        redis.exceptions.ReadOnlyError,  # a write that reached a master demoted by a failover
        redis.sentinel.MasterNotFoundError,  # the sentinels name no master yet
    ],
)
async def test_a_handler_that_cannot_reach_redis_waits_without_spending_an_attempt(
    aredis: Any, error: type[Exception]
) -> None:
    await publish(aredis, jobs(2))

    async def redis_down(_task: Any, _ctx: Any, n: int) -> Done:
        if n <= 3:  # more than max_deliveries allows attempts
            raise error("Connection closed by server.")
        return Done()

    handler = Recorder(redis_down)
    worker = await run_until_idle(aredis, handler, max_deliveries=2)
    assert set(handler.calls.values()) == {4}
    assert {ctx.attempts for ctx in handler.contexts} == {0}
    assert (worker.counts.waited, worker.counts.retried, worker.counts.done) == (6, 0, 2)
    assert worker.counts.by_error_type == {"RedisUnavailable": 6}
    assert await aredis.xlen(keys.dead_letter_stream(STREAM)) == 0


async def test_handler_timeout_and_crash_are_retried(aredis: Any) -> None:
    await publish(aredis, jobs(2))

    async def sometimes(task: Any, _ctx: Any, n: int) -> Done:
        if n == 1 and task.location_id == "loc-0":
            await asyncio.sleep(10)  # past handler_timeout_s
        if n == 1 and task.location_id == "loc-1":
            raise ZeroDivisionError("bug")
        return Done()

    handler = Recorder(sometimes)
    # Reclaim far later than the timeout: on a loaded machine the timed-out entry's settle could
    # otherwise come after it was idle long enough to be reclaimed and run a third time.
    worker = await run_until_idle(aredis, handler, reclaim_idle_ms=5_000)
    assert set(handler.calls.values()) == {2}
    assert worker.counts.by_error_type == {"HandlerTimeout": 1, "ZeroDivisionError": 1}
    assert worker.counts.done == 2


async def test_poison_entries_are_dead_lettered_and_the_worker_goes_on(aredis: Any) -> None:
    await publish(aredis, jobs(2))
    await aredis.xadd(STREAM, {"garbage": "yes"})
    await aredis.xadd(STREAM, {"type": "test.job", "v": "1", "task_id": "x", "payload": "{oops"})
    await publish(aredis, jobs(3, window="w2"))
    handler = Recorder()
    worker = await run_until_idle(aredis, handler)
    assert len(handler.calls) == 5
    assert worker.counts.dead_lettered == 2 and worker.counts.by_error_type == {"PoisonMessage": 2}
    dead = await aredis.xrange(keys.dead_letter_stream(STREAM))
    reasons = sorted(f[b"dlq_error"].decode() for _i, f in dead)
    assert "lacks field(s)" in reasons[0] or "lacks field(s)" in reasons[1]
    assert any("invalid payload" in r for r in reasons)
    assert dead[0][1][b"garbage"] == b"yes"  # the original fields are kept


async def test_a_huge_poison_entry_is_logged_and_dead_lettered_in_short(aredis: Any) -> None:
    (fields,) = [CODEC.encode(job) for job in jobs(1)]
    huge_id = "test.job:" + "x" * 1_000_000
    await aredis.xadd(STREAM, {**fields, "task_id": huge_id})
    await aredis.xadd(STREAM, {**fields, "attempts": "9" * 40})
    with capture_logs() as logs:
        worker = await run_until_idle(aredis, Recorder())
    assert worker.counts.by_error_type == {"PoisonMessage": 2}  # not MaxDeliveriesExceeded
    poison = [e for e in logs if e["event"] == "poison_message"]
    assert len(poison) == 2
    assert all(len(e["task_id"]) < 300 and len(e["error"]) < 500 for e in poison)
    dead = await aredis.xrange(keys.dead_letter_stream(STREAM))
    assert "field attempts must be an integer" in dead[1][1][b"dlq_error"].decode()
    assert dead[0][1][b"task_id"] == huge_id.encode()  # the entry itself is kept whole


async def test_already_done_tasks_are_acked_without_work(aredis: Any) -> None:
    tasks = jobs(5)
    await publish(aredis, tasks + tasks)  # every task published twice
    handler = Recorder()
    worker = await run_until_idle(aredis, handler, concurrency=1, read_count=1)
    assert set(handler.calls.values()) == {1} and len(handler.calls) == 5
    assert worker.counts.done == 5 and worker.counts.already_done == 5
    assert await pending_count(aredis) == 0


async def test_a_crashed_consumers_entry_is_reclaimed_and_completed_once(aredis: Any) -> None:
    await publish(aredis, jobs(3))
    # A consumer reads everything and dies without acking.
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    await aredis.xreadgroup(GROUP, "dead-consumer", {STREAM: ">"}, count=10)
    handler = Recorder()
    worker = await run_until_idle(aredis, handler)
    assert set(handler.calls.values()) == {1} and len(handler.calls) == 3
    assert worker.counts.reclaimed == 3 and worker.counts.done == 3
    assert await pending_count(aredis) == 0
    assert [c.attempts for c in handler.contexts] == [1, 1, 1]  # the crash counted as a delivery


async def test_an_entry_whose_delivery_reply_was_lost_runs_without_spending_an_attempt(
    aredis: Any,
) -> None:
    await publish(aredis, jobs(3))
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    # Redis delivered an entry to this very consumer, and the reply never reached it (the
    # connection dropped after Redis had run the read).
    await aredis.xreadgroup(GROUP, "me", {STREAM: ">"}, count=1)
    handler = Recorder()
    worker = await run_until_idle(aredis, handler, consumer="me", reclaim_idle_ms=60_000)
    assert set(handler.calls.values()) == {1} and len(handler.calls) == 3
    assert {ctx.attempts for ctx in handler.contexts} == {0}
    assert worker.counts.reclaimed == 0 and worker.counts.done == 3
    assert await pending_count(aredis) == 0


async def test_an_entry_whose_settle_redis_rejected_is_left_to_the_reclaim(aredis: Any) -> None:
    await aredis.set(NEXT, "not a stream")  # every forward to it is refused (WRONGTYPE)
    await publish(aredis, jobs(1))

    async def forward(task: Any, _ctx: Any, _n: int) -> Forward:
        return Forward([NextJob(location_id=task.location_id, window=task.window)])

    handler = Recorder(forward)
    options = fast_options(forward_stream=NEXT, consumer="me", reclaim_idle_ms=60_000)
    worker = Worker(aredis, CODEC, handler, options)
    running = asyncio.create_task(worker.run())
    try:

        async def idle_ms() -> int:
            rows = await aredis.xpending_range(STREAM, GROUP, "-", "+", 1)
            return int(rows[0]["time_since_delivered"]) if rows else 0

        async def rejected() -> bool:
            return worker.counts.skipped_not_owned == 1

        await await_until(rejected, message="the settle to be rejected")
        # Taking it back would reset its idle time (XCLAIM) and run it again; it is left alone.
        await await_until(lambda: _at_least(idle_ms, 1500), message="the entry to stay idle")
        assert sum(handler.calls.values()) == 1
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=30)


async def _at_least(value: Any, bound: int) -> bool:
    return int(await value()) >= bound


async def test_crash_looping_entry_goes_to_dead_letters_after_max_deliveries(aredis: Any) -> None:
    (entry_id,) = await publish(aredis, jobs(1))
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    await aredis.xreadgroup(GROUP, "crashed-1", {STREAM: ">"})
    for n in range(2, 4):  # two more deliveries, each "crashing"
        await aredis.xclaim(STREAM, GROUP, f"crashed-{n}", 0, [entry_id])
    handler = Recorder()
    worker = await run_until_idle(aredis, handler, max_deliveries=3)
    assert not handler.calls  # never run a fourth time
    assert worker.counts.by_error_type == {"MaxDeliveriesExceeded": 1}
    dead = await aredis.xrange(keys.dead_letter_stream(STREAM))
    assert dead[0][1][b"dlq_deliveries"] == b"3"
    assert b"3 deliveries ended without an outcome" in dead[0][1][b"dlq_error"]


async def test_entry_deleted_while_pending_is_not_retried(aredis: Any, backend: Any) -> None:
    ids = await publish(aredis, jobs(2))
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    await aredis.xreadgroup(GROUP, "dead-consumer", {STREAM: ">"})
    await aredis.xdel(STREAM, ids[0])
    handler = Recorder()
    worker = await run_until_idle(aredis, handler)
    assert list(handler.calls) == ["test.job:loc-1@w1"]
    assert worker.counts.deleted_while_pending == 1
    assert await pending_count(aredis) == 0


async def test_many_handlers_run_concurrently(aredis: Any) -> None:
    await publish(aredis, jobs(40))
    started = 0
    all_started = asyncio.Event()

    async def gate(_task: Any, _ctx: Any, _n: int) -> Done:
        nonlocal started
        started += 1
        if started == 40:
            all_started.set()
        await asyncio.wait_for(all_started.wait(), timeout=10)
        return Done()

    worker = await run_until_idle(
        aredis, Recorder(gate), concurrency=40, handler_timeout_s=15, reclaim_idle_ms=20_000
    )
    assert worker.counts.done == 40


async def test_graceful_stop_finishes_or_releases_in_flight_work(aredis: Any) -> None:
    await publish(aredis, jobs(4))
    release_quick = asyncio.Event()

    async def slow(task: Any, _ctx: Any, _n: int) -> Done:
        if task.location_id in ("loc-0", "loc-1"):
            await release_quick.wait()
            return Done()
        await asyncio.sleep(30)  # never finishes within the grace period
        return Done()

    worker = Worker(
        aredis,
        CODEC,
        Recorder(slow),
        fast_options(handler_timeout_s=60, reclaim_idle_ms=120_000, shutdown_grace_s=0.3),
    )
    running = asyncio.create_task(worker.run())
    await await_until(lambda: asyncio.sleep(0, worker.in_flight == 4), message="4 in flight")
    worker.stop()
    release_quick.set()
    await asyncio.wait_for(running, timeout=10)
    assert worker.counts.done == 2 and worker.counts.released == 2
    pending = await aredis.xpending_range(STREAM, GROUP, "-", "+", 10)
    assert len(pending) == 2  # never acked unfinished work
    assert all(p["time_since_delivered"] >= 120_000 for p in pending)  # reclaimable at once
    # Another worker takes them over straight away, although reclaim_idle_ms is two minutes.
    handler = Recorder()
    await run_until_idle(aredis, handler, reclaim_idle_ms=120_000, handler_timeout_s=1)
    assert sorted(handler.calls) == ["test.job:loc-2@w1", "test.job:loc-3@w1"]


async def test_idle_consumers_are_pruned_only_without_pending_entries(aredis: Any) -> None:
    await publish(aredis, jobs(1))
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    await aredis.xreadgroup(GROUP, "holder", {STREAM: ">"})  # holds a pending entry
    await aredis.xgroup_createconsumer(STREAM, GROUP, "idle-empty")
    worker = Worker(
        aredis, CODEC, Recorder(), fast_options(consumer_prune_idle_ms=1, reclaim_idle_ms=60_000)
    )
    running = asyncio.create_task(worker.run())

    async def names() -> set[str]:
        return {c["name"].decode() for c in await aredis.xinfo_consumers(STREAM, GROUP)}

    await await_until(lambda: _lacks(names, "idle-empty"), message="idle-empty pruned")
    assert "holder" in await names()
    worker.stop()
    await asyncio.wait_for(running, timeout=10)


async def test_pruning_keeps_the_workers_own_consumer_logs_and_counts_each_removal(
    aredis: Any,
) -> None:
    await aredis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    await publish(aredis, jobs(1))
    await aredis.xreadgroup(GROUP, "holder", {STREAM: ">"})  # holds a pending entry
    pruned: list[int] = []

    class Hooks(WorkerHooks):
        def on_consumers_pruned(self, count: int) -> None:
            pruned.append(count)

    options = fast_options(consumer_prune_idle_ms=1, reclaim_idle_ms=60_000)
    recorder = Recorder()
    worker = Worker(aredis, CODEC, recorder, options, hooks=Hooks())

    async def names() -> set[str]:
        return {c["name"].decode() for c in await aredis.xinfo_consumers(STREAM, GROUP)}

    with capture_logs() as logs:
        running = asyncio.create_task(worker.run())
        # Redis creates a consumer when it first reads an entry: give the worker one, so that its
        # own consumer exists, holds nothing and is idle while the stopped ones are pruned.
        await publish(aredis, [Job(location_id="own", window="w1")])
        await await_until(
            lambda: _done(recorder, "test.job:own@w1"), message="the worker's task done"
        )
        for name in ("stopped-1", "stopped-2"):
            await aredis.xgroup_createconsumer(STREAM, GROUP, name)
        await await_until(lambda: _lacks(names, "stopped-2"), message="stopped consumers pruned")
        assert {"holder", options.consumer} <= await names()  # pending kept; its own kept
        worker.stop()
        await asyncio.wait_for(running, timeout=10)
    assert "stopped-1" not in await names()
    events = [e for e in logs if e["event"] == "consumer_pruned"]
    assert sorted(e["pruned"] for e in events) == ["stopped-1", "stopped-2"]
    assert sum(pruned) == 2


async def _done(recorder: Recorder, task_id: str) -> bool:
    return recorder.calls[task_id] == 1


async def _lacks(names: Any, name: str) -> bool:
    return name not in await names()


async def test_the_worker_trims_what_is_done_and_keeps_what_is_not(aredis: Any) -> None:
    await publish(aredis, jobs(6))
    release = asyncio.Event()

    async def hold_the_last(task: Any, _ctx: Any, _n: int) -> Done:
        if task.location_id == "loc-5":
            await release.wait()
        return Done()

    worker = Worker(
        aredis,
        CODEC,
        Recorder(hold_the_last),
        fast_options(trim_interval_ms=20, handler_timeout_s=30, reclaim_idle_ms=60_000),
    )
    running = asyncio.create_task(worker.run())

    async def length_is(n: int) -> bool:
        return int(await aredis.xlen(STREAM)) == n

    # the five done entries go; the one still pending (and anything after it) stays
    await await_until(lambda: length_is(1), message="the done entries to be trimmed")
    assert await pending_count(aredis) == 1
    ((_entry_id, fields),) = await aredis.xrange(STREAM)
    assert fields[b"task_id"] == b"test.job:loc-5@w1"
    release.set()
    await await_until(lambda: length_is(0), message="the last entry to be trimmed")
    worker.stop()
    await asyncio.wait_for(running, timeout=10)
    assert worker.counts.done == 6
