"""'Already done' marks per stage and task.

A mark is written by the worker runtime in the same script that acks the entry (``settle.lua``),
after every side effect of the handler was committed, never before: a crash before the ack leaves
no mark, so the task is redone, never lost. A redelivered task whose mark exists is acked without
work, which is what saves a second paid API call after a crash or a duplicate publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from etl_core import keys

DEFAULT_DEDUP_TTL_S = 7 * 24 * 3600


class DedupMarks:
    """Reads the marks of one stage; writing happens in the runtime's settle script."""

    def __init__(self, stage: str, *, ttl_s: float = DEFAULT_DEDUP_TTL_S) -> None:
        if ttl_s <= 0:
            raise ValueError(f"dedup ttl_s must be positive, got {ttl_s}")
        self.stage = stage
        self.ttl_ms = int(ttl_s * 1000)

    def key(self, task_id: str) -> str:
        return keys.dedup_mark(self.stage, task_id)

    async def done_among(self, client: Any, task_ids: Sequence[str]) -> set[str]:
        """The subset of ``task_ids`` already done by this stage (one round trip)."""
        if not task_ids:
            return set()
        values = await client.mget([self.key(t) for t in task_ids])
        return {t for t, v in zip(task_ids, values, strict=True) if v is not None}

    async def forget(self, client: Any, task_ids: Sequence[str]) -> int:
        """Drop marks so the tasks run again (an operator's decision, e.g. after fixing data)."""
        if not task_ids:
            return 0
        return int(await client.delete(*[self.key(t) for t in task_ids]))
