"""Done marks: fields of time-bucketed hashes named after the stream (one Cluster slot)."""

from __future__ import annotations

import time
from typing import Any

from etl_core import keys
from etl_core.dedup import DedupMarks

STREAM = "jobs:{p0}"
STAGE = "workers"
HOUR_MS = 3_600_000
# Hashes written by these tests expire on the server's clock: their buckets start at this hour.
NOW_H = time.time_ns() // 1_000_000 // HOUR_MS


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


async def _mark(client: Any, marks: DedupMarks, *task_ids: str) -> None:
    """What settle.lua does for a done task (tested with the script in test_settle)."""
    key, expire_at_ms = marks.write_target()
    await client.hset(key, mapping=dict.fromkeys(task_ids, "1"))
    await client.pexpireat(key, expire_at_ms)


def test_hash_names_embed_the_stream_so_they_share_its_hash_tag() -> None:
    marks = DedupMarks(STREAM, STAGE, horizon_s=3600, clock_ms=Clock(5 * HOUR_MS))
    key, expire_at_ms = marks.write_target()
    assert key == keys.done_marks(STREAM, STAGE, 5) and key.startswith(f"etl:done:{STREAM}:")
    assert expire_at_ms == 7 * HOUR_MS  # two lengths after the bucket began
    assert marks.readable_keys() == [keys.done_marks(STREAM, STAGE, b) for b in (5, 4)]


async def test_a_mark_is_found_for_at_least_one_horizon(aredis: Any) -> None:
    clock = Clock(NOW_H * HOUR_MS + HOUR_MS - 1)  # the very end of a bucket
    marks = DedupMarks(STREAM, STAGE, horizon_s=3600, clock_ms=clock)
    await _mark(aredis, marks, "t:a", "t:b")
    assert await marks.done_among(aredis, ["t:a", "t:c", "t:b"]) == {"t:a", "t:b"}
    clock.ms += HOUR_MS  # one horizon later: in the previous bucket, still read
    assert await marks.done_among(aredis, ["t:a", "t:c"]) == {"t:a"}
    clock.ms += HOUR_MS  # two later: that bucket is no longer read (and has expired)
    assert await marks.done_among(aredis, ["t:a"]) == set()


async def test_forget_drops_marks_so_the_tasks_run_again(aredis: Any) -> None:
    clock = Clock(NOW_H * HOUR_MS)
    marks = DedupMarks(STREAM, STAGE, horizon_s=3600, clock_ms=clock)
    await _mark(aredis, marks, "t:a")
    clock.ms += HOUR_MS
    await _mark(aredis, marks, "t:b")
    assert await marks.forget(aredis, ["t:a", "t:b", "t:c"]) == 2
    assert await marks.done_among(aredis, ["t:a", "t:b"]) == set()
    assert await marks.forget(aredis, []) == 0


async def test_stages_and_streams_keep_their_own_marks(aredis: Any) -> None:
    clock = Clock(NOW_H * HOUR_MS)
    await _mark(aredis, DedupMarks(STREAM, STAGE, clock_ms=clock), "t:a")
    other_stage = DedupMarks(STREAM, "other", clock_ms=clock)
    other_stream = DedupMarks("more:{p0}", STAGE, clock_ms=clock)
    assert await other_stage.done_among(aredis, ["t:a"]) == set()
    assert await other_stream.done_among(aredis, ["t:a"]) == set()
