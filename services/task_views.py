"""Where the pipeline's tasks are, for ``trail-etl tasks`` and ``trail-etl task show``.

Read commands only (XPENDING, XRANGE, XINFO, ZRANGE, TIME), so the read-only viewer of
docs/operations.md ("Redis ACLs") may run them. A stream entry holds a task as the fields
``etl_core.task`` writes (``task_id``, ``payload`` JSON with ``location_id`` and ``window``,
``attempts``); anything else (a poison entry) is shown by its id with what it has.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from etl_core import keys
from etl_core.deadletter import DeadLetters
from services import pipeline_keys

# The pipeline's stages in order: (consumer group, the stream it consumes).
STAGE_STREAMS: tuple[tuple[str, str], ...] = (
    (pipeline_keys.FETCH_GROUP, pipeline_keys.INGESTION_STREAM),
    (pipeline_keys.CATEGORIZE_GROUP, pipeline_keys.CATEGORIZATION_STREAM),
)
PAGE = 1000


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: dict[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def _place(fields: dict[str, str]) -> tuple[str | None, str | None]:
    try:
        payload = json.loads(fields.get("payload", ""))
    except ValueError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    location, window = payload.get("location_id"), payload.get("window")
    return (
        location if isinstance(location, str) else None,
        window if isinstance(window, str) else None,
    )


@dataclass(frozen=True)
class TaskPlace:
    """One place a task is: ``where`` is ``queued`` (in the stream, not yet read by its stage),
    ``active`` (read by a consumer, not yet settled), ``delayed`` (waiting for a retry) or
    ``dead`` (in the dead-letter stream)."""

    where: str
    stage: str
    stream: str
    task_id: str
    location_id: str | None
    window: str | None
    attempts: str | None
    entry_id: str | None = None  # the stream or dead-letter entry
    consumer: str | None = None  # active: who holds it
    held_ms: int | None = None  # active: since its last delivery
    deliveries: int | None = None  # active: how often it was handed out
    due_in_ms: int | None = None  # delayed: until it is back in its stream (negative: overdue)
    error_type: str | None = None  # dead
    error: str | None = None  # dead

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _task(where: str, stage: str, stream: str, fields: dict[str, str], **more: Any) -> TaskPlace:
    location, window = _place(fields)
    return TaskPlace(
        where=where,
        stage=stage,
        stream=stream,
        task_id=fields.get("task_id", "?"),
        location_id=location,
        window=window,
        attempts=fields.get("attempts"),
        **more,
    )


def _stages(stage: str | None) -> Sequence[tuple[str, str]]:
    if stage is None:
        return STAGE_STREAMS
    return [(g, s) for g, s in STAGE_STREAMS if g == stage]


def _server_ms(client: Any) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _entry(client: Any, stream: str, entry_id: str) -> dict[str, str] | None:
    found = client.xrange(stream, min=entry_id, max=entry_id)
    return _fields(found[0][1]) if found else None


def active(client: Any, *, stage: str | None = None, limit: int = 100) -> list[TaskPlace]:
    """Tasks read by a consumer and not yet settled, the longest held first."""
    out: list[TaskPlace] = []
    for group, stream in _stages(stage):
        if _text(client.type(stream)) != "stream":
            continue
        if not any(_text(g["name"]) == group for g in client.xinfo_groups(stream)):
            continue
        for item in client.xpending_range(stream, group, "-", "+", limit):
            entry_id = _text(item["message_id"])
            fields = _entry(client, stream, entry_id) or {"task_id": "(entry trimmed)"}
            out.append(
                _task(
                    "active",
                    group,
                    stream,
                    fields,
                    entry_id=entry_id,
                    consumer=_text(item["consumer"]),
                    held_ms=int(item["time_since_delivered"]),
                    deliveries=int(item["times_delivered"]),
                )
            )
    out.sort(key=lambda t: -(t.held_ms or 0))
    return out[:limit]


def delayed(client: Any, *, stage: str | None = None, limit: int = 100) -> list[TaskPlace]:
    """Tasks waiting for a retry, the soonest due first."""
    now_ms = _server_ms(client)
    out: list[TaskPlace] = []
    for group, stream in _stages(stage):
        for member, score in client.zrange(keys.delayed_set(stream), 0, limit - 1, withscores=True):
            try:
                fields = {str(k): str(v) for k, v in json.loads(_text(member)).items()}
            except (ValueError, AttributeError):
                fields = {"task_id": "(unreadable member)"}
            out.append(_task("delayed", group, stream, fields, due_in_ms=int(score) - now_ms))
    out.sort(key=lambda t: t.due_in_ms or 0)
    return out[:limit]


def _matches(fields: dict[str, str], needle: str) -> bool:
    return fields.get("task_id") == needle or _place(fields)[0] == needle


def _stream_entries(client: Any, stream: str) -> Iterator[tuple[str, dict[str, str]]]:
    start = "-"
    while True:
        page = client.xrange(stream, min=start, max="+", count=PAGE)
        for raw_id, raw in page:
            yield _text(raw_id), _fields(raw)
        if len(page) < PAGE:
            return
        start = "(" + _text(page[-1][0])


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def find(client: Any, needle: str) -> list[TaskPlace]:
    """Every place a task is, by task id or by location id (then every task of it).

    Reads each stream, delayed set and dead-letter stream whole (paged): streams are trimmed to
    about their backlog, so this stays an operator's command, not a worker's.
    """
    places: list[TaskPlace] = []
    for group, stream in STAGE_STREAMS:
        pending: dict[str, dict[str, Any]] = {}
        last_delivered: str | None = None
        if _text(client.type(stream)) == "stream":
            for info in client.xinfo_groups(stream):
                if _text(info["name"]) == group:
                    last_delivered = _text(info["last-delivered-id"])
                    pending = {
                        _text(p["message_id"]): p
                        for p in client.xpending_range(stream, group, "-", "+", 100_000)
                    }
            for entry_id, fields in _stream_entries(client, stream):
                if not _matches(fields, needle):
                    continue
                held = pending.get(entry_id)
                if held is not None:
                    places.append(
                        _task(
                            "active",
                            group,
                            stream,
                            fields,
                            entry_id=entry_id,
                            consumer=_text(held["consumer"]),
                            held_ms=int(held["time_since_delivered"]),
                            deliveries=int(held["times_delivered"]),
                        )
                    )
                elif last_delivered is None or _id_key(entry_id) > _id_key(last_delivered):
                    places.append(_task("queued", group, stream, fields, entry_id=entry_id))
        places.extend(t for t in delayed(client, stage=group, limit=1_000_000) if _hit(t, needle))
        for entry in DeadLetters(client, stream).iter():
            fields = entry.original_fields
            if _matches(fields, needle):
                places.append(
                    _task(
                        "dead",
                        group,
                        stream,
                        fields,
                        entry_id=entry.id,
                        error_type=entry.error_type,
                        error=entry.error,
                    )
                )
    return places


def _hit(place: TaskPlace, needle: str) -> bool:
    return needle in (place.task_id, place.location_id)
