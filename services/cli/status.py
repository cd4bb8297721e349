"""``trail-etl status``: the pipeline at a glance, as tables or as one JSON object."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis
import typer
from pydantic import Field
from rich.markup import escape
from rich.table import Table

from etl_core.errors import ConfigurationError, RedisRefused
from services import pipeline_keys
from services.breaker_settings import OwmBreakerSettings, WeatherServiceBreakerSettings
from services.cli.common import console, fail, redis_fail
from services.cli.settings import CliSettings
from services.settings_types import OptionalLimit
from services.status import PIPELINE_STREAMS, gather_status
from services.window_settings import ScheduleWindowSettings

T = TypeVar("T")


class StatusSettings(
    CliSettings, OwmBreakerSettings, WeatherServiceBreakerSettings, ScheduleWindowSettings
):
    """The CLI settings plus the workers' limits and breaker settings, shown next to what is
    used, and the schedule window (which windows the per-window totals show)."""

    weather_source: str = Field(default="owm", min_length=1)
    owm_rate_limit_per_minute: int = Field(default=60, ge=1)
    owm_rate_limit_per_day: int = Field(default=1000, ge=1)
    open_meteo_rate_limit_per_minute: int = Field(default=600, ge=1)
    open_meteo_rate_limit_per_day: OptionalLimit = 10_000

    def source_limiter(self) -> tuple[str, int, int | None]:
        """The shared limiter of WEATHER_SOURCE (its name, per-minute and per-day limits) and
        the name of its breaker (the same name for the built-in sources)."""
        if self.weather_source == "open-meteo":
            return (
                "open-meteo",
                self.open_meteo_rate_limit_per_minute,
                self.open_meteo_rate_limit_per_day,
            )
        if self.weather_source == "owm":
            return (
                pipeline_keys.OWM_RATE_LIMITER,
                self.owm_rate_limit_per_minute,
                self.owm_rate_limit_per_day,
            )
        raise ConfigurationError(
            "WEATHER_SOURCE: status knows the limits of owm and open-meteo, "
            f"not of {self.weather_source!r}"
        )


async def _gather(settings: StatusSettings, streams: list[str]) -> dict[str, Any]:
    client = settings.async_redis_cli()
    try:
        await client.ping()
        source, per_minute, per_day = settings.source_limiter()
        return await gather_status(
            client,
            streams=streams,
            limiter=source,
            per_minute=per_minute,
            per_day=per_day,
            breakers={
                source: settings.owm_breaker_options(),
                pipeline_keys.WEATHER_SERVICE_BREAKER: settings.weather_service_breaker_options(),
            },
            schedule_window=settings.schedule_window,
        )
    finally:
        await client.aclose()


LIMITER_TITLES = {pipeline_keys.OWM_RATE_LIMITER: "OWM", "open-meteo": "Open-Meteo"}


def _title(limiter: str) -> str:
    return LIMITER_TITLES.get(limiter, limiter)


def _idle(ms: int) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title)
    for column in columns:
        last = column == columns[-1]
        table.add_column(column, overflow="fold", no_wrap=not last)
    return table


def _stage_line(stage: dict[str, Any]) -> str:
    """``stage fetch-weather: paused (auto) for 42.0s: OwmAuthError: ...; next trial in 12.0s``."""
    name = escape(stage["name"])
    if not stage["paused"]:
        return f"stage {name}: [green]running[/]"
    now_ms = stage["server_time_ms"]
    line = (
        f"stage {name}: [red]paused[/] ({stage['source']}) for "
        f"{_idle(now_ms - stage['since_ms'])}: {escape(stage['reason'])}"
    )
    if stage["next_trial_ms"]:
        line += f"; next trial in {_idle(max(0, stage['next_trial_ms'] - now_ms))}"
    return line


def _breaker_line(b: dict[str, Any]) -> str:
    """``breaker owm: closed (12 calls in the window, 25% failed; opens at 60% of >= 30)``."""
    colour = {"closed": "green", "open": "red"}.get(b["state"], "yellow")
    rate = "" if b["failure_rate"] is None else f", {b['failure_rate']:.0%} failed"
    retry = f", retry in {b['retry_after_s']:.1f}s" if b["retry_after_s"] else ""
    return (
        f"breaker {escape(b['name'])}: [{colour}]{b['state']}[/] "
        f"({b['window_calls']} calls in the window{rate}; opens at "
        f"{b['failure_rate_threshold']:.0%} of >= {b['minimum_calls']}{retry})"
    )


def _windows_table(status: dict[str, Any]) -> Table:
    """One row per schedule window; retrying and dead as ``fetch/categorize`` counts."""
    stages = [t["stage"] for t in status["throughput"]]
    table = _table(
        f"schedule windows ({status['schedule_window']}); retrying and dead: " + "/".join(stages),
        "window",
        "scheduled",
        "fetched",
        "labelled",
        "retrying",
        "dead",
    )
    for w in status["windows"]:
        retrying = "/".join(str(w["retrying"][s]) for s in stages)
        table.add_row(
            w["window"],
            str(w["scheduled"]),
            str(w["fetched"]),
            str(w["labelled"]),
            retrying if w["retrying_complete"] else f">= {retrying}",
            "/".join(str(w["dead"][s]) for s in stages),
        )
    return table


def _throughput_line(t: dict[str, Any]) -> str:
    """``throughput fetch-weather: 120 done in the last minute, 600 in 5 minutes``."""
    more = ">= " if t["capped"] else ""
    return (
        f"throughput {escape(t['stage'])}: {more}{t['done_last_1m']} done in the last minute, "
        f"{more}{t['done_last_5m']} in 5 minutes"
    )


def _render(status: dict[str, Any]) -> None:
    console.print(_windows_table(status))
    for t in status["throughput"]:
        console.print(_throughput_line(t))
    streams = _table(
        "streams", "stream", "backlog", "length", "groups", "delayed", "dlq", "dlq by error"
    )
    groups = _table("consumer groups", "stream", "group", "pending", "lag", "last delivered")
    consumers = _table("consumers", "stream", "group", "consumer", "pending", "idle", "heartbeat")
    for s in status["streams"]:
        dead = s["dead_letters"]
        by_error = ", ".join(f"{k or '?'}={v}" for k, v in dead["by_error_type"].items())
        streams.add_row(
            escape(s["name"]) + ("" if s["exists"] else " [dim](missing)[/]"),
            "?" if s["backlog"] is None else str(s["backlog"]),
            str(s["length"]),
            str(len(s["groups"])),
            str(s["delayed"]),
            str(dead["count"]),
            escape(by_error),
        )
        for g in s["groups"]:
            groups.add_row(
                escape(s["name"]),
                escape(g["name"]),
                str(g["pending"]),
                "?" if g["lag"] is None else str(g["lag"]),
                g["last_delivered_id"],
            )
            for c in g["consumers"]:
                consumers.add_row(
                    escape(s["name"]),
                    escape(g["name"]),
                    escape(c["name"]),
                    str(c["pending"]),
                    _idle(c["idle_ms"]),
                    "[green]live[/]" if c["alive"] else "[red]none[/]",
                )
    console.print(streams)
    console.print(groups)
    if consumers.row_count:
        console.print(consumers)
    for stage in status["stages"]:
        console.print(_stage_line(stage))
    for b in status["breakers"]:
        console.print(_breaker_line(b))
    r = status["rate_limit"]
    recent = f", {r['recent_429']} 429s in the last minute" if r["recent_429"] else ""
    console.print(
        f"{_title(r['name'])} rate limit: {r['used_this_minute']}/{r['per_minute']} this minute, "
        f"{r['used_today']}/{r['per_day'] or 'unlimited'} today (UTC){recent}",
        soft_wrap=True,
    )
    if r["throttled_since_ms"] is not None:
        since = datetime.fromtimestamp(r["throttled_since_ms"] / 1000, UTC).strftime("%H:%M:%S")
        console.print(
            f"{_title(r['name'])} rate lowered: "
            f"[yellow]{r['effective_per_minute']}/{r['per_minute']} per minute"
            f"[/] (factor {r['factor']:.2f}) since {since} UTC, as 429s kept coming; "
            "it climbs back by itself",
            soft_wrap=True,
        )


def status(
    streams: list[str] | None = typer.Option(
        None, "--stream", help="Another stream to report on (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see above)."),
    watch_s: float | None = typer.Option(
        None,
        "--watch",
        min=0.5,
        help="Redraw every this many seconds, with each group's settle rate, until Ctrl-C "
        "(with --json: one object per line).",
    ),
) -> None:
    """Show the pipeline streams, the shared breakers and the OpenWeatherMap rate limit.

    For both pipeline streams plus any --stream: length, consumer groups
    (pending, lag, last delivered id), their consumers (pending, idle time,
    live heartbeat), delayed retries and dead letters by error type.
    A missing stream shows as empty.

    Reads REDIS_URL, and WEATHER_SOURCE with its limits (OWM_RATE_LIMIT_PER_MINUTE,
    OWM_RATE_LIMIT_PER_DAY, or OPEN_METEO_RATE_LIMIT_PER_MINUTE, _PER_DAY), OWM_BREAKER_*
    and WEATHER_SERVICE_BREAKER_* as the workers have them.
    Exit 2 if Redis cannot be reached or refuses the credentials or a permission
    (it needs only read commands: see the ACL rules in docs/operations.md);
    1 on another Redis error.

    --json prints one object with these keys (times in ms unless named _s):
    server_time_ms: Redis's clock; schedule_window: SCHEDULE_WINDOW;
    windows: a list, the current schedule window first, then the two before
      it, of window (its label), scheduled (tasks the scheduler added),
      fetched (finished by fetch-weather, each handed to categorize),
      labelled (finished by categorize), retrying and dead (stage to count:
      waiting in the delayed set, in the dead-letter stream),
      retrying_complete (false: more delayed retries than were read);
    throughput: a list, one per stage, of stage, stream, done_last_1m,
      done_last_5m (tasks finished in the last 1 and 5 minutes), capped (the
      counts are lower bounds);
    streams: a list, one object per stream, with
      name, exists, length, delayed, backlog (lag + pending + delayed; null if
      a lag is unknown),
      dead_letters: stream, count, by_error_type (error type to count),
      groups: a list of name, pending, lag (null if unknown), entries_read
      (null if unknown), last_delivered_id,
        consumers: a list of name, pending, idle_ms, alive (live heartbeat);
    stages: a list (fetch-weather, categorize-trail-conditions) of name,
      paused, source (auto: a stage-wide failure, manual: an operator; null
      when running), reason, since_ms, next_trial_ms, server_time_ms;
    breakers: a list (owm, weather-service) of name, state (closed, open,
      half_open), window_calls, window_failures, window_slow_calls,
      failure_rate (null while the window is empty), failure_rate_threshold,
      minimum_calls, retry_after_s, opened_at_ms (null unless open or half-open);
    rate_limit: name, used_this_minute, per_minute, used_today, per_day,
      effective_per_minute (lowered while 429s keep coming), factor (1.0 at
      the configured rate), throttled_since_ms (null at factor 1),
      recent_429 (429s for permits of the last minute).
    """
    try:
        settings: StatusSettings = StatusSettings.load()
        settings.source_limiter()
    except ConfigurationError as exc:
        raise fail(str(exc)) from None
    names = [*PIPELINE_STREAMS, *(streams or [])]
    if watch_s is not None:
        _watch(settings, names, watch_s, as_json)
        return
    result = _gather_or_exit(settings, names)
    if as_json:
        typer.echo(json.dumps(result))
        return
    _render(result)


def _run_or_exit(settings: StatusSettings, main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, a Redis failure reported as one line and its exit code."""
    try:
        return asyncio.run(main)
    except (redis.RedisError, RedisRefused, OSError) as exc:
        raise redis_fail(exc, settings.redis_url) from None


def _gather_or_exit(settings: StatusSettings, names: list[str]) -> dict[str, Any]:
    return _run_or_exit(settings, _gather(settings, names))


def _settled(status: dict[str, Any]) -> dict[tuple[str, str], int]:
    """Entries each group has settled so far: read minus still pending (null counts skipped)."""
    return {
        (s["name"], g["name"]): g["entries_read"] - g["pending"]
        for s in status["streams"]
        for g in s["groups"]
        if g["entries_read"] is not None
    }


def settle_rates(
    before: dict[str, Any], after: dict[str, Any], elapsed_s: float
) -> dict[str, float]:
    """Entries settled per second by each group between two readings (``stream/group``)."""
    then, now = _settled(before), _settled(after)
    return {
        f"{stream}/{group}": round(max(0, count - then[(stream, group)]) / elapsed_s, 1)
        for (stream, group), count in now.items()
        if (stream, group) in then and elapsed_s > 0
    }


def _watch(settings: StatusSettings, names: list[str], every_s: float, as_json: bool) -> None:
    try:
        _run_or_exit(settings, _watch_until_interrupted(settings, names, every_s, as_json))
    except KeyboardInterrupt:  # Ctrl-C before the loop's own handler was set
        return


async def _watch_until_interrupted(
    settings: StatusSettings, names: list[str], every_s: float, as_json: bool
) -> None:
    """Ctrl-C sets an event instead of cancelling the loop (``asyncio.run``'s way): on Python
    3.11 ``asyncio.wait_for``, which redis-py sends commands through, drops a cancellation that
    arrives as the command completes, and the watch would go on."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    previous: dict[str, Any] | None = None
    previous_at = 0.0
    try:
        while not stop.is_set():
            result = await _unless_stopped(_gather(settings, names), stop)
            if result is None:
                return
            now = time.monotonic()
            rates = settle_rates(previous, result, now - previous_at) if previous else {}
            previous, previous_at = result, now
            if as_json:
                typer.echo(json.dumps({**result, "settled_per_s": rates}))
            else:
                console.clear()
                _render(result)
                shown = ", ".join(f"{k} {v}/s" for k, v in rates.items()) or "(next redraw)"
                console.print(
                    f"settled: {escape(shown)}  [dim]every {every_s:g} s, "
                    f"{datetime.now(UTC):%H:%M:%S} UTC; Ctrl-C to stop[/]"
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every_s):
                    await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def _unless_stopped(
    reading: Coroutine[Any, Any, dict[str, Any]], stop: asyncio.Event
) -> dict[str, Any] | None:
    """The reading, or None once ``stop`` is set first (a reading can wait out Redis's retries)."""
    task = asyncio.ensure_future(reading)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    return None
