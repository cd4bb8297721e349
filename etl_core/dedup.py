"""'Already done' marks per stream, stage and task.

A mark is written by the worker runtime in the same script that acks the entry (``settle.lua``),
after every side effect of the handler was committed, never before: a crash before the ack leaves
no mark, so the task is redone, never lost. A redelivered task whose mark exists is acked without
work, which is what saves a second paid API call after a duplicate publish or a reclaim race.

A mark is a field of a time-bucketed hash (``etl_core.buckets``, ``keys.done_marks``) whose name
embeds the stream's, so every hash a read or a write touches is in the stream's Redis Cluster
slot. A mark only has to outlive the redeliveries its task can still get: ``horizon_s`` is how
long a mark lives at least (at most twice that). A dead-lettered task gets no mark, so a redriven
one runs again; ``forget`` drops marks so an operator can have tasks redone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from etl_core import keys
from etl_core.buckets import TimeBuckets

DEFAULT_DEDUP_HORIZON_S = 2 * 3600.0


class DedupMarks:
    """The marks ``stage`` writes for the tasks of ``stream``; writing happens in settle.lua."""

    def __init__(
        self,
        stream: str,
        stage: str,
        *,
        horizon_s: float = DEFAULT_DEDUP_HORIZON_S,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if horizon_s < 0.001:
            raise ValueError(f"dedup horizon_s must be at least 1 ms, got {horizon_s}")
        self.stream = stream
        self.stage = stage
        length_ms = int(horizon_s * 1000)
        self._buckets = (
            TimeBuckets(length_ms) if clock_ms is None else TimeBuckets(length_ms, clock_ms)
        )

    def hash_key(self, bucket: int) -> str:
        return keys.done_marks(self.stream, self.stage, bucket)

    def write_target(self) -> tuple[str, int]:
        """The hash a mark is written into now, and when it expires (unix ms)."""
        bucket = self._buckets.current()
        return self.hash_key(bucket), self._buckets.expire_at_ms(bucket)

    def readable_keys(self) -> list[str]:
        """Every hash a live mark may be in now, newest first."""
        return [self.hash_key(b) for b in self._buckets.readable()]

    async def done_among(self, client: Any, task_ids: Sequence[str]) -> set[str]:
        """The subset of ``task_ids`` already done by this stage: one HMGET per readable hash,
        pipelined in one round trip, all in the stream's slot."""
        if not task_ids:
            return set()
        ids = list(task_ids)
        pipe = client.pipeline(transaction=False)
        for key in self.readable_keys():
            pipe.hmget(key, ids)
        done: set[str] = set()
        for values in await pipe.execute():
            done.update(t for t, v in zip(ids, values, strict=True) if v is not None)
        return done

    async def forget(self, client: Any, task_ids: Sequence[str]) -> int:
        """Drop marks so the tasks run again (an operator's decision, e.g. after fixing data).
        Returns how many marks were dropped."""
        if not task_ids:
            return 0
        pipe = client.pipeline(transaction=False)
        for key in self.readable_keys():
            pipe.hdel(key, *task_ids)
        return sum(int(n) for n in await pipe.execute())
