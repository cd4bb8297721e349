"""The one-off move of a Redis that holds the key layout before hash tags to today's layout.

Before hash tags the streams were ``owm-ingestion-stream`` and ``owm-categorization-stream`` and
the shared limiter, breakers and pauses lived under ``etl:ratelimit:``, ``etl:breaker:`` and
``etl:pause:``. Workers of today read none of those names, so what they hold (unfinished tasks,
dead letters, delayed retries, the publish markers of the current window, the day's OWM call
count) must move before the new workers start, or be drained by the old ones.

Each key moves whole with DUMP and RESTORE (its TTL kept), so a stream keeps its ids, its consumer
groups and their pending entries: the new workers reclaim what the stopped ones held, as they do
for a crashed worker. A move is safe to run again: a key already moved is only deleted from its
old name. The names of the old layout are frozen history and live only here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from etl_core import keys
from services import pipeline_keys
from services.status import PIPELINE_STAGES

_OLD_RATE_LIMITERS = (pipeline_keys.OWM_RATE_LIMITER,)
_OLD_BREAKERS = (pipeline_keys.OWM_BREAKER, pipeline_keys.WEATHER_SERVICE_BREAKER)


class MoveState(StrEnum):
    TO_MOVE = "to move"
    MOVED = "moved"
    # The old key was moved before (a run stopped between RESTORE and DEL): only its DEL is left.
    ALREADY_MOVED = "already moved"
    # Both names hold different data: moving would overwrite what the new layout already holds.
    CONFLICT = "conflict"


@dataclass(frozen=True)
class KeyMove:
    old: str
    new: str
    kind: str
    size: int
    state: MoveState


class MigrationRefused(Exception):
    """The migration cannot run as things are; the message says why and what to do."""


def _old_key_pairs(client: Any) -> Iterator[tuple[str, str]]:
    for old_stream, new_stream in pipeline_keys.UNTAGGED_STREAMS.items():
        yield old_stream, new_stream
        yield keys.dead_letter_stream(old_stream), keys.dead_letter_stream(new_stream)
        yield keys.delayed_set(old_stream), keys.delayed_set(new_stream)
        prefix = keys.published_marker_prefix(old_stream)
        for raw in client.scan_iter(match=f"{prefix}*", count=1000):
            name = raw.decode() if isinstance(raw, bytes) else raw
            bucket = name[len(prefix) :]
            if bucket.isdigit():
                yield name, keys.published_markers(new_stream, int(bucket))
    for limiter in _OLD_RATE_LIMITERS:
        old_prefix = f"{keys.PREFIX}:ratelimit:{limiter}:"
        new_prefix = keys.rate_limit_day(limiter).removesuffix("day")
        for raw in client.scan_iter(match=f"{old_prefix}*", count=1000):
            name = raw.decode() if isinstance(raw, bytes) else raw
            yield name, new_prefix + name[len(old_prefix) :]
    for breaker in _OLD_BREAKERS:
        yield f"{keys.PREFIX}:breaker:{breaker}", keys.breaker(breaker)
        yield f"{keys.PREFIX}:breaker:{breaker}:calls", keys.breaker_calls(breaker)
    for stage in PIPELINE_STAGES:
        yield f"{keys.PREFIX}:pause:{stage}", keys.stage_pause(stage)
        yield f"{keys.PREFIX}:pause:{stage}:trial", keys.stage_pause_trial(stage)


def _size(client: Any, key: str, kind: str) -> int:
    sizes = {"stream": client.xlen, "zset": client.zcard, "hash": client.hlen, "list": client.llen}
    return int(sizes[kind](key)) if kind in sizes else 1


def _is_empty_shell(client: Any, key: str, kind: str) -> bool:
    """A stream with no entries and nothing pending: what a new worker's XGROUP CREATE MKSTREAM
    leaves when it started before the migration; replacing it loses nothing."""
    if kind != "stream" or client.xlen(key):
        return False
    return all(int(group["pending"]) == 0 for group in client.xinfo_groups(key))


def plan(client: Any) -> list[KeyMove]:
    """Every key of the old layout present in Redis, with what moving it would do."""
    moves: list[KeyMove] = []
    for old, new in _old_key_pairs(client):
        kind = client.type(old)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "none":
            continue
        size = _size(client, old, kind)
        new_kind = client.type(new)
        new_kind = new_kind.decode() if isinstance(new_kind, bytes) else new_kind
        if new_kind == "none" or _is_empty_shell(client, new, new_kind):
            state = MoveState.TO_MOVE
        elif client.dump(new) == client.dump(old):
            state = MoveState.ALREADY_MOVED
        else:
            state = MoveState.CONFLICT
        moves.append(KeyMove(old, new, kind, size, state))
    return moves


def live_consumers(client: Any) -> list[str]:
    """Workers whose heartbeat is still fresh (``group/consumer``), old layout or new."""
    found = []
    for stage in PIPELINE_STAGES:
        prefix = keys.heartbeat_prefix(stage)
        for raw in client.scan_iter(match=f"{prefix}*", count=1000):
            name = raw.decode() if isinstance(raw, bytes) else raw
            found.append(f"{stage}/{name[len(prefix) :]}")
    return sorted(found)


def migrate(client: Any) -> list[KeyMove]:
    """Move every key of the old layout; refuses, changing nothing, while a worker runs or when a
    new key already holds other data."""
    running = live_consumers(client)
    if running:
        raise MigrationRefused(
            f"{len(running)} worker(s) still running ({', '.join(running[:5])}): stop every "
            "worker and the scheduler first; a stopped worker's heartbeat expires within its TTL"
        )
    moves = plan(client)
    conflicts = [m for m in moves if m.state is MoveState.CONFLICT]
    if conflicts:
        names = ", ".join(f"{m.old} -> {m.new}" for m in conflicts[:5])
        raise MigrationRefused(
            f"{len(conflicts)} key(s) exist under both layouts with different data ({names}): "
            "the new version already ran; drain the old keys instead "
            "(docs/operations.md, Upgrading)"
        )
    done = []
    for move in moves:
        if move.state is MoveState.TO_MOVE:
            ttl_ms = int(client.pttl(move.old))
            payload = client.dump(move.old)
            # TTL 0 means none; a key with a TTL keeps what was left of it.
            client.restore(move.new, max(ttl_ms, 0), payload, replace=True)
        client.delete(move.old)
        done.append(
            KeyMove(move.old, move.new, move.kind, move.size, MoveState.MOVED)
            if move.state is MoveState.TO_MOVE
            else move
        )
    return done
