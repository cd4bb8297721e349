"""settle.lua applies an outcome only while the entry is still pending for the settling consumer."""

from __future__ import annotations

import asyncio
from typing import Any

from etl_core import keys
from etl_core.dedup import DedupMarks
from etl_core.worker.settle import Settlement, Settler
from tests.etl_core.workerkit import CODEC, GROUP, NEXT, STREAM, NextJob, jobs, publish

MARKS = DedupMarks(STREAM, GROUP)


async def test_a_reclaimed_entry_cannot_be_settled_by_its_old_consumer(aredis: Any) -> None:
    (entry_id,) = [i.decode() for i in await publish(aredis, jobs(1))]
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    await aredis.xreadgroup(GROUP, "slow", {STREAM: ">"})
    await aredis.xclaim(STREAM, GROUP, "fast", 0, [entry_id])  # reclaimed while "slow" still works
    forward = [(NEXT, CODEC.encode(NextJob(location_id="loc-0", window="w1")))]
    task_id = "test.job:loc-0@w1"
    marks = DedupMarks(STREAM, GROUP, horizon_s=60)
    (dedup, _expiry) = marks.write_target()

    slow = Settler(aredis, stream=STREAM, group=GROUP, consumer="slow", marks=marks)
    late = slow.submit(Settlement("fwd", entry_id, task_id, forwards=forward))
    await slow.flush(give_up_after_s=5)
    assert await late is False
    assert await aredis.xlen(NEXT) == 0 and not await aredis.exists(dedup)

    fast = Settler(aredis, stream=STREAM, group=GROUP, consumer="fast", marks=marks)
    owner = fast.submit(Settlement("fwd", entry_id, task_id, forwards=forward))
    again = fast.submit(Settlement("fwd", entry_id, task_id, forwards=forward))  # a duplicate
    await fast.flush(give_up_after_s=5)
    assert (await owner, await again) == (True, False)
    assert await aredis.xlen(NEXT) == 1 and await marks.done_among(aredis, [task_id]) == {task_id}
    assert (await aredis.xpending(STREAM, GROUP))["pending"] == 0
    assert 0 < await aredis.pttl(dedup) <= 120_000  # a mark lives one to two horizons


async def test_settle_batches_mixed_outcomes_in_one_call(aredis: Any) -> None:
    ids = [i.decode() for i in await publish(aredis, jobs(4))]
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    await aredis.xreadgroup(GROUP, "me", {STREAM: ">"})
    settler = Settler(aredis, stream=STREAM, group=GROUP, consumer="me", marks=MARKS)
    futures = [
        settler.submit(Settlement("ack", ids[0], "a")),
        settler.submit(
            Settlement(
                "fwd", ids[1], "", forwards=[(NEXT, {"k": "1"}), ("other-stream", {"k": "2"})]
            )
        ),
        settler.submit(Settlement("retry", ids[2], delay_ms=60_000, member='{"x": "1"}')),
        settler.submit(Settlement("dead", ids[3], dead_fields={"dlq_error_type": "E", "x": "y"})),
    ]
    await settler.flush(give_up_after_s=5)
    assert await asyncio.gather(*futures) == [True, True, True, True]
    assert await aredis.xlen(NEXT) == 1 and await aredis.xlen("other-stream") == 1
    assert await aredis.zcard(keys.delayed_set(STREAM)) == 1
    dead = await aredis.xrange(keys.dead_letter_stream(STREAM))
    assert dead[0][1][b"x"] == b"y" and int(dead[0][1][b"dlq_failed_at_ms"]) > 0
    assert (await aredis.xpending(STREAM, GROUP))["pending"] == 0
    assert await MARKS.done_among(aredis, ["a", "b"]) == {"a"}


async def test_new_done_marks_are_counted_in_their_windows_tally_and_the_settled_log(
    aredis: Any,
) -> None:
    label = "2026-11-22T10:00Z"
    ids = [i.decode() for i in await publish(aredis, jobs(3, window=label))]
    await aredis.xgroup_create(STREAM, GROUP, id="0")
    await aredis.xreadgroup(GROUP, "c", {STREAM: ">"})
    marks = DedupMarks(STREAM, GROUP, horizon_s=60)
    settler = Settler(aredis, stream=STREAM, group=GROUP, consumer="c", marks=marks)
    task_ids = [f"test.job:loc-{i}@{label}" for i in range(3)]
    done = [
        settler.submit(Settlement("ack", ids[0], task_ids[0])),
        # found already done by the dedup check: its mark is renewed, not counted again
        settler.submit(Settlement("ack", ids[1], task_ids[1], tally=False)),
        settler.submit(Settlement("retry", ids[2], delay_ms=60_000, member="{}")),
    ]
    await settler.flush(give_up_after_s=5)
    assert [await f for f in done] == [True, True, True]
    tally = keys.window_tally(STREAM, label)
    assert await aredis.hgetall(tally) == {f"done:{GROUP}".encode(): b"1"}
    assert 0 < await aredis.pttl(tally) <= 120_000
    log = await aredis.xrange(keys.settled_log(STREAM, GROUP))
    assert [fields for _id, fields in log] == [{b"n": b"1"}]
    assert 0 < await aredis.pttl(keys.settled_log(STREAM, GROUP)) <= keys.SETTLED_LOG_KEEP_MS
