"""What ``trail-etl status`` reports: streams, groups, consumers, retries, dead letters, limits.

``gather_status`` reads Redis through an asyncio client and returns plain JSON-ready data. It
sends read commands only (TYPE, XLEN, XINFO, XRANGE, ZCARD, EXISTS, HGETALL, HMGET, LRANGE,
ZCOUNT) plus TIME, and runs no script, so a read-only ACL user can run it (docs/operations.md,
"Redis ACLs"). The command line renders it (``services/cli/status.py``).

The returned object, keys stable (times in ms unless the name says ``_s``)::

    {
      "streams": [
        {
          "name": str,
          "exists": bool,            # false: no such stream (shown as empty, not an error)
          "length": int,             # XLEN
          "delayed": int,            # retries waiting in etl:delayed:<stream> (ZCARD)
          "backlog": int | null,     # work not done: every group's lag + pending, + delayed;
                                     # null when a group's lag is unknown
          "dead_letters": {"stream": "<stream>:dlq", "count": int,
                           "by_error_type": {error_type: int}},
          "groups": [
            {
              "name": str,
              "pending": int,         # delivered, not yet acknowledged
              "lag": int | null,      # undelivered entries; null when Redis cannot tell
              "entries_read": int | null,  # entries ever handed to the group (Redis's count)
              "last_delivered_id": str,
              "consumers": [
                {"name": str, "pending": int, "idle_ms": int,
                 "alive": bool}       # a live heartbeat key (etl:heartbeat:<group>:<consumer>)
              ]
            }
          ]
        }
      ],
      "stages": [                # each consumer group's shared pause (etl_core.pause)
        {"name": str, "paused": bool,
         "source": "auto" | "manual" | null,   # auto: a stage-wide failure; manual: an operator
         "reason": str | null, "since_ms": int | null,
         "next_trial_ms": int | null,          # auto: when one trial task may go
         "server_time_ms": int | null}         # Redis's clock when read (for "since")
      ],
      "breakers": [              # the weather source's breaker, then the weather service's
        {"name": str, "state": "closed" | "open" | "half_open",
         "window_calls": int,        # outcomes in the sliding window now
         "window_failures": int, "window_slow_calls": int,
         "failure_rate": float | null,   # failures / calls; null while the window is empty
         "failure_rate_threshold": float, "minimum_calls": int,   # when it opens
         "retry_after_s": float, "opened_at_ms": int | null}
      ],
      "rate_limit": {"name": str, "used_this_minute": int, "per_minute": int,
                     "used_today": int, "per_day": int | null,  # null: no day limit
                     "effective_per_minute": int,  # per_minute x factor (429s lower it)
                     "factor": float,              # 1.0: the configured rate
                     "throttled_since_ms": int | null,  # server clock; null at factor 1
                     "recent_429": int}            # 429s for permits of the last minute
    }
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from etl_core import keys
from etl_core.breaker import BreakerOptions, BreakerStatus, CircuitBreaker
from etl_core.deadletter import ERROR_TYPE, PAGE_SIZE
from etl_core.pause import StagePause
from etl_core.ratelimit import RateLimiter
from etl_core.ratelimit_adaptive import AdaptiveAdmission
from etl_core.task import FIELD_TASK_ID
from etl_core.windows import parse_window, window_label, window_of_task_id
from services import pipeline_keys

PIPELINE_STREAMS: tuple[str, ...] = pipeline_keys.PIPELINE_STREAMS
PIPELINE_STAGES: tuple[str, ...] = (pipeline_keys.FETCH_GROUP, pipeline_keys.CATEGORIZE_GROUP)
# Each pipeline stage (consumer group) and the stream it consumes.
STAGE_STREAMS: tuple[tuple[str, str], ...] = (
    (pipeline_keys.FETCH_GROUP, pipeline_keys.INGESTION_STREAM),
    (pipeline_keys.CATEGORIZE_GROUP, pipeline_keys.CATEGORIZATION_STREAM),
)
WINDOWS_SHOWN = 3  # the current schedule window and the two before it
DELAYED_SCAN_CAP = 10_000  # delayed members read per stage to sort retries by window
THROUGHPUT_SCAN_CAP = 10_000  # settled-log entries read per stage and period
THROUGHPUT_PERIODS_S = (60, 300)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _field(info: dict[Any, Any], name: str) -> Any:
    """A field of an XINFO reply, whether the client decodes responses or not."""
    if name in info:
        return info[name]
    return info.get(name.encode())


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


async def _dead_letters(client: Any, stream: str) -> dict[str, Any]:
    """Count of ``stream``'s dead-letter entries and their counts per error type.

    The same numbers as ``DeadLetters(...).count()`` / ``.counts_by_error_type()``, which need a
    synchronous client; this pages through the stream the same way on the asyncio one.
    """
    dlq = keys.dead_letter_stream(stream)
    count = int(await client.xlen(dlq))
    by_error_type: dict[str, int] = {}
    by_window: dict[str, int] = {}
    start = "-"
    while count:
        page = await client.xrange(dlq, min=start, max="+", count=PAGE_SIZE)
        for _raw_id, raw_fields in page:
            error_type = _text(_field(raw_fields, ERROR_TYPE) or "")
            by_error_type[error_type] = by_error_type.get(error_type, 0) + 1
            window = window_of_task_id(_text(_field(raw_fields, FIELD_TASK_ID) or ""))
            if window is not None:
                by_window[window] = by_window.get(window, 0) + 1
        if len(page) < PAGE_SIZE:
            break
        start = "(" + _text(page[-1][0])
    return {
        "stream": dlq,
        "count": count,
        "by_error_type": dict(sorted(by_error_type.items())),
        "by_window": dict(sorted(by_window.items())),
    }


async def _consumers(client: Any, stream: str, group: str) -> list[dict[str, Any]]:
    out = []
    for info in await client.xinfo_consumers(stream, group):
        name = _text(_field(info, "name"))
        out.append(
            {
                "name": name,
                "pending": int(_field(info, "pending") or 0),
                "idle_ms": int(_field(info, "idle") or 0),
                "alive": bool(await client.exists(keys.heartbeat(group, name))),
            }
        )
    return sorted(out, key=lambda c: c["name"])


async def stream_counts(client: Any, stream: str) -> dict[str, Any]:
    """The cheap part of a stream's status, for worker metrics too: no consumers, and the
    dead-letter stream's length only (``XLEN``, not its error types)::

        {"name", "exists", "length", "delayed", "backlog", "dead_letters": int,
         "groups": [{"name", "pending", "lag", "entries_read", "last_delivered_id"}]}
    """
    exists = _text(await client.type(stream)) == "stream"
    groups: list[dict[str, Any]] = []
    length = 0
    if exists:
        length = int(await client.xlen(stream))
        for info in await client.xinfo_groups(stream):
            groups.append(
                {
                    "name": _text(_field(info, "name")),
                    "pending": int(_field(info, "pending") or 0),
                    "lag": _optional_int(_field(info, "lag")),
                    "entries_read": _optional_int(_field(info, "entries-read")),
                    "last_delivered_id": _text(_field(info, "last-delivered-id")),
                }
            )
        groups.sort(key=lambda g: g["name"])
    delayed = int(await client.zcard(keys.delayed_set(stream)))
    lags = [g["lag"] for g in groups]
    backlog = None if None in lags else delayed + sum(g["pending"] + g["lag"] for g in groups)
    return {
        "name": stream,
        "exists": exists,
        "length": length,
        "delayed": delayed,
        "backlog": backlog,
        "dead_letters": int(await client.xlen(keys.dead_letter_stream(stream))),
        "groups": groups,
    }


async def _stream(client: Any, stream: str) -> dict[str, Any]:
    status = await stream_counts(client, stream)
    for group in status["groups"]:
        group["consumers"] = await _consumers(client, stream, group["name"])
    status["dead_letters"] = await _dead_letters(client, stream)
    return status


async def _server_time_ms(client: Any) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def _delayed_by_window(client: Any, stream: str) -> tuple[dict[str, int], bool]:
    """Retries of ``stream`` waiting in its delayed set, by the window of their task id, and
    whether the whole set was read (at most ``DELAYED_SCAN_CAP`` members, soonest due first)."""
    total = int(await client.zcard(keys.delayed_set(stream)))
    members = await client.zrange(keys.delayed_set(stream), 0, DELAYED_SCAN_CAP - 1)
    by_window: dict[str, int] = {}
    for member in members:
        try:
            task_id = json.loads(_text(member)).get(FIELD_TASK_ID, "")
        except (ValueError, AttributeError):
            continue
        window = window_of_task_id(str(task_id))
        if window is not None:
            by_window[window] = by_window.get(window, 0) + 1
    return by_window, len(members) >= total


def _labels(now_ms: int, schedule_window: str, count: int) -> list[str]:
    """The labels of the window ``now_ms`` is in and of the ``count - 1`` before it, newest
    first."""
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    size = parse_window(schedule_window)
    return [window_label(now - i * size, schedule_window) for i in range(count)]


async def _windows(
    client: Any,
    now_ms: int,
    schedule_window: str,
    dead: Mapping[str, Mapping[str, int]],
) -> list[dict[str, Any]]:
    """Per-window totals of the pipeline (see the module's docstring)."""
    ingestion = pipeline_keys.INGESTION_STREAM
    categorization = pipeline_keys.CATEGORIZATION_STREAM
    delayed = {stage: await _delayed_by_window(client, stream) for stage, stream in STAGE_STREAMS}
    complete = all(whole for _counts, whole in delayed.values())
    out = []
    for label in _labels(now_ms, schedule_window, WINDOWS_SHOWN):
        fetch = {
            _text(k): int(v)
            for k, v in (await client.hgetall(keys.window_tally(ingestion, label))).items()
        }
        label_tally = {
            _text(k): int(v)
            for k, v in (await client.hgetall(keys.window_tally(categorization, label))).items()
        }
        out.append(
            {
                "window": label,
                "scheduled": fetch.get(keys.TALLY_PUBLISHED, 0),
                "fetched": fetch.get(keys.tally_done_field(pipeline_keys.FETCH_GROUP), 0),
                "labelled": label_tally.get(
                    keys.tally_done_field(pipeline_keys.CATEGORIZE_GROUP), 0
                ),
                "retrying": {stage: delayed[stage][0].get(label, 0) for stage, _ in STAGE_STREAMS},
                "retrying_complete": complete,
                "dead": {stage: dead.get(stage, {}).get(label, 0) for stage, _ in STAGE_STREAMS},
            }
        )
    return out


async def _throughput(client: Any, now_ms: int) -> list[dict[str, Any]]:
    """Tasks each stage finished (new done marks) in the last 1 and 5 minutes, from its settled
    log; ``capped`` when a period held more than ``THROUGHPUT_SCAN_CAP`` settle calls (the count
    is then a lower bound)."""
    out = []
    for stage, stream in STAGE_STREAMS:
        row: dict[str, Any] = {"stage": stage, "stream": stream, "capped": False}
        for period_s in THROUGHPUT_PERIODS_S:
            entries = await client.xrange(
                keys.settled_log(stream, stage),
                min=f"{now_ms - period_s * 1000 + 1}-0",
                max="+",
                count=THROUGHPUT_SCAN_CAP,
            )
            row[f"done_last_{period_s // 60}m"] = sum(
                int(_field(fields, "n") or 0) for _id, fields in entries
            )
            row["capped"] = row["capped"] or len(entries) >= THROUGHPUT_SCAN_CAP
        out.append(row)
    return out


def _breaker(status: BreakerStatus, options: BreakerOptions) -> dict[str, Any]:
    return {
        "name": status.name,
        "state": str(status.state),
        "window_calls": status.window_calls,
        "window_failures": status.window_failures,
        "window_slow_calls": status.window_slow_calls,
        "failure_rate": status.failure_rate,
        "failure_rate_threshold": options.failure_rate_threshold,
        "minimum_calls": options.minimum_calls,
        "retry_after_s": status.retry_after_s,
        "opened_at_ms": status.opened_at_ms,
    }


async def _stage(client: Any, stage: str) -> dict[str, Any]:
    state = await StagePause(client, stage).state()
    if state is None:
        return {
            "name": stage,
            "paused": False,
            "source": None,
            "reason": None,
            "since_ms": None,
            "next_trial_ms": None,
            "server_time_ms": None,
        }
    return {
        "name": stage,
        "paused": True,
        "source": str(state.source),
        "reason": state.reason,
        "since_ms": state.since_ms,
        "next_trial_ms": state.until_ms,
        "server_time_ms": state.server_time_ms,
    }


async def gather_status(
    client: Any,
    *,
    streams: Sequence[str],
    per_minute: int,
    per_day: int | None,
    limiter: str = pipeline_keys.OWM_RATE_LIMITER,
    breakers: Mapping[str, BreakerOptions] | None = None,
    stages: Sequence[str] = PIPELINE_STAGES,
    schedule_window: str = "1h",
) -> dict[str, Any]:
    """The status of ``streams`` (each once, in order), of the shared breakers and of the
    weather source's limiter (``limiter``, the name its fetch workers use).

    ``per_minute`` / ``per_day`` are the limits the fetch workers run with (shown next to the
    usage); ``breakers`` (name -> options) the breakers' as the workers have them (the window's
    length and the reset timeout decide what is counted and when an open breaker turns
    half-open; default: the OWM and weather-service breakers with the library's defaults).
    ``client`` is a ``redis.asyncio`` client (decoded responses or not).
    """
    names = list(dict.fromkeys(streams))
    if breakers is None:
        breakers = {
            pipeline_keys.OWM_BREAKER: BreakerOptions(),
            pipeline_keys.WEATHER_SERVICE_BREAKER: BreakerOptions(),
        }
    breaker_states = [
        _breaker(await CircuitBreaker(client, name, options).status(), options)
        for name, options in breakers.items()
    ]
    usage = await RateLimiter(
        client,
        limiter,
        per_minute=per_minute,
        per_day=per_day,
        adaptive=AdaptiveAdmission(),  # only read: the factor and the last minute's refusals
    ).read_usage()
    since_us = usage.throttled_since_us
    throttled_since_ms = None if since_us is None else since_us // 1000
    now_ms = await _server_time_ms(client)
    stream_states = [await _stream(client, name) for name in names]
    by_name = {state["name"]: state for state in stream_states}
    dead: dict[str, dict[str, int]] = {}
    for stage, stream in STAGE_STREAMS:
        state = by_name.get(stream)
        dead[stage] = (
            state["dead_letters"]["by_window"]
            if state is not None
            else (await _dead_letters(client, stream))["by_window"]
        )
    return {
        "server_time_ms": now_ms,
        "schedule_window": schedule_window,
        "windows": await _windows(client, now_ms, schedule_window, dead),
        "throughput": await _throughput(client, now_ms),
        "streams": stream_states,
        "stages": [await _stage(client, stage) for stage in stages],
        "breakers": breaker_states,
        "rate_limit": {
            "name": usage.name,
            "used_this_minute": usage.used_this_minute,
            "per_minute": usage.per_minute,
            "used_today": usage.used_today,
            "per_day": usage.per_day,
            "effective_per_minute": usage.effective_per_minute,
            "factor": usage.factor,
            "throttled_since_ms": throttled_since_ms,
            "recent_429": usage.recent_refusals,
        },
    }
