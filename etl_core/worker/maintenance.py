"""The worker's chores: reclaim, delayed retries, consumer pruning, heartbeat, group set-up."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions

from etl_core import keys, scripts


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


async def ensure_group(client: Any, stream: str, group: str) -> bool:
    """Create the group (and the stream) if missing, reading from the start. True if created."""
    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.exceptions.ResponseError as exc:
        if "BUSYGROUP" in str(exc):
            return False
        raise
    return True


@dataclass
class Reclaimed:
    entries: list[tuple[str, dict[bytes, bytes] | None, int]] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)


class Reclaimer:
    """Takes over entries idle longer than ``min_idle_ms`` (their consumer crashed or hung).

    Uses XAUTOCLAIM and handles its third reply element (Redis 7+): ids of entries deleted while
    pending, which Redis has already dropped from the pending list. Those are counted and logged,
    never retried. On Redis 6.2 such entries come back with no fields; the runtime acks them.
    """

    def __init__(
        self, client: Any, *, stream: str, group: str, consumer: str, min_idle_ms: int
    ) -> None:
        self._client = client
        self._stream, self._group, self._consumer = stream, group, consumer
        self._min_idle_ms = min_idle_ms
        self._cursor = "0-0"

    async def claim(self, count: int) -> Reclaimed:
        out = Reclaimed()
        if count <= 0:
            return out
        reply = await self._client.xautoclaim(
            self._stream,
            self._group,
            self._consumer,
            self._min_idle_ms,
            start_id=self._cursor,
            count=count,
        )
        next_cursor, claimed = _text(reply[0]), reply[1]
        out.deleted_ids = [_text(x) for x in reply[2]] if len(reply) > 2 else []
        self._cursor = next_cursor
        if not claimed:
            return out
        pipe = self._client.pipeline(transaction=False)
        for entry_id, _fields in claimed:
            pipe.xpending_range(self._stream, self._group, min=entry_id, max=entry_id, count=1)
        counts = await pipe.execute()
        for (entry_id, fields), pending in zip(claimed, counts, strict=True):
            delivered = int(pending[0]["times_delivered"]) if pending else 1
            out.entries.append((_text(entry_id), fields or None, delivered))
        return out


async def release(
    client: Any, *, stream: str, group: str, consumer: str, entry_ids: list[str], idle_ms: int
) -> None:
    """Make unfinished entries reclaimable by others at once (shutdown); they stay unacked."""
    if entry_ids:
        await client.xclaim(stream, group, consumer, 0, entry_ids, idle=idle_ms, justid=True)


class DelayedPromoter:
    def __init__(self, client: Any, *, stream: str, batch: int = 500) -> None:
        self._script = scripts.register(client, "promote_delayed")
        self._keys = [keys.delayed_set(stream), stream]
        self._batch = batch

    async def promote(self) -> tuple[int, int]:
        """Move due retries into the stream; returns (moved, next due ms or -1)."""
        moved, next_due = await self._script(keys=self._keys, args=[self._batch])
        return int(moved), int(next_due)


class ConsumerPruner:
    def __init__(
        self, client: Any, *, stream: str, group: str, consumer: str, min_idle_ms: int
    ) -> None:
        self._script = scripts.register(client, "prune_consumers")
        self._keys = [stream]
        self._args = [group, min_idle_ms, consumer]

    async def prune(self) -> list[str]:
        return [_text(n) for n in await self._script(keys=self._keys, args=self._args)]


async def write_heartbeat(
    client: Any, *, group: str, consumer: str, ttl_ms: int, in_flight: int
) -> None:
    body = json.dumps(
        {"consumer": consumer, "in_flight": in_flight, "at_ms": int(time.time() * 1000)}
    )
    await client.set(keys.heartbeat(group, consumer), body, px=ttl_ms)


async def delete_heartbeat(client: Any, *, group: str, consumer: str) -> None:
    await client.delete(keys.heartbeat(group, consumer))
