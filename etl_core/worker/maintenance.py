"""The worker's chores: reclaim, delayed retries, consumer pruning, heartbeat, group set-up."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions

from etl_core import keys, scripts

# A delivery pending this long for its own consumer, which does not hold it, was lost.
LOST_DELIVERY_MIN_IDLE_MS = 1_000


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
    entries: list[tuple[str, dict[bytes, bytes], int]] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)


class Reclaimer:
    """Takes over entries idle longer than ``min_idle_ms`` (their consumer crashed or hung).

    Uses XAUTOCLAIM, whose third reply element lists the entries deleted from the stream while
    pending: Redis has already dropped them from the pending list and claims only live entries,
    so the deleted ones are counted and logged, never retried, and need no ack.
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
        out.deleted_ids = [_text(x) for x in reply[2]]
        self._cursor = next_cursor
        if not claimed:
            return out
        pipe = self._client.pipeline(transaction=False)
        for entry_id, _fields in claimed:
            pipe.xpending_range(self._stream, self._group, min=entry_id, max=entry_id, count=1)
        counts = await pipe.execute()
        for (entry_id, fields), pending in zip(claimed, counts, strict=True):
            delivered = int(pending[0]["times_delivered"]) if pending else 1
            out.entries.append((_text(entry_id), fields, delivered))
        return out


@dataclass
class Lost:
    entries: list[tuple[str, dict[bytes, bytes] | None, int]] = field(default_factory=list)
    # Every entry pending for this consumer, or None when there were more than were looked at.
    pending_ids: set[str] | None = None


async def take_back_lost(
    client: Any,
    *,
    stream: str,
    group: str,
    consumer: str,
    held: Collection[str],
    skip: Collection[str],
    count: int,
) -> Lost:
    """Up to ``count`` entries pending for ``consumer`` that it neither ``held`` nor was told to
    ``skip``, idle for ``LOST_DELIVERY_MIN_IDLE_MS`` at least.

    A live consumer holds every entry it was delivered, unless the reply of the XREADGROUP (or
    XAUTOCLAIM) that delivered it never arrived: Redis ran the command and the connection dropped
    before the reply was read (a Redis restart does this to a read served just before the kill),
    and the client's retry read other entries. Such an entry would wait for the reclaim and then
    count one more delivery: an attempt spent on a delivery no handler ever saw. It is taken back
    here with its delivery count unchanged (XCLAIM JUSTID, which also resets its idle time, so no
    other consumer reclaims it while it runs).
    """
    out = Lost()
    if count <= 0:
        return out
    limit = len(held) + len(skip) + count
    rows = await client.xpending_range(
        stream, group, min="-", max="+", count=limit, consumername=consumer
    )
    ids = [_text(row["message_id"]) for row in rows]
    if len(rows) < limit:
        out.pending_ids = set(ids)
    lost = [
        (entry_id, int(row["times_delivered"]))
        for entry_id, row in zip(ids, rows, strict=True)
        if entry_id not in held
        and entry_id not in skip
        and int(row["time_since_delivered"]) >= LOST_DELIVERY_MIN_IDLE_MS
    ][:count]
    if not lost:
        return out
    await client.xclaim(stream, group, consumer, 0, [i for i, _ in lost], justid=True)
    pipe = client.pipeline(transaction=False)
    for entry_id, _delivered in lost:
        pipe.xrange(stream, min=entry_id, max=entry_id, count=1)
    found = await pipe.execute()
    for (entry_id, delivered), rows_of_id in zip(lost, found, strict=True):
        out.entries.append((entry_id, rows_of_id[0][1] if rows_of_id else None, delivered))
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

    async def promote(self) -> int:
        """Move due retries into the stream (at most one batch); returns how many moved."""
        return int(await self._script(keys=self._keys, args=[self._batch]))


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
    """Say that ``consumer``'s process is running and reaching Redis, for ``ttl_ms``.

    A chore writes it, not the read loop: the loop stands still while every slot runs a handler,
    for up to a handler timeout, and a busy worker is no dead one. Whether the loop goes round is
    the process's own liveness probe's business (``probes.py``, ``read_loop_age_seconds``).
    """
    body = json.dumps(
        {"consumer": consumer, "in_flight": in_flight, "at_ms": int(time.time() * 1000)}
    )
    await client.set(keys.heartbeat(group, consumer), body, px=ttl_ms)


async def delete_heartbeat(client: Any, *, group: str, consumer: str) -> None:
    await client.delete(keys.heartbeat(group, consumer))
