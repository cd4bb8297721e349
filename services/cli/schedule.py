"""``trail-etl schedule``: one schedule-jobs run (meant for cron), or one every ``--every``."""

from __future__ import annotations

import asyncio
import re
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import redis
import typer

from etl_core.errors import ConfigurationError, EtlError, RedisRefused
from etl_core.logging import configure_logging, get_logger
from etl_core.redis_client import refusal
from services.cli.exits import EXIT_FAILED, exit_with, redis_exit

if TYPE_CHECKING:
    from services.schedule_jobs.run import ScheduleReport

app = typer.Typer(
    help="Queue one ingestion task per location for the current window (run it from cron).",
    pretty_exceptions_enable=False,
)
log = get_logger(__name__, component="schedule")  # lazy: follows configure_logging()

_DURATION_RE = re.compile(r"^(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

Every = Annotated[
    str | None,
    typer.Option(
        "--every",
        metavar="DURATION",
        help="Run again every DURATION (30s, 5m, 1h, 1d) until SIGTERM/SIGINT; a failed run is "
        "logged and tried again at the next tick. Without it: one run (for cron).",
    ),
]


def parse_duration(spec: str) -> float:
    """``"30s"``, ``"5m"``, ``"1h"``, ``"1d"`` -> seconds (> 0)."""
    match = _DURATION_RE.match(spec.strip())
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)] if match else 0
    if seconds <= 0:
        raise ValueError(f"--every {spec!r} must look like 30s, 5m, 1h or 1d (and be > 0)")
    return float(seconds)


def run_every(
    run_once: Callable[[], object],
    *,
    every_s: float,
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Call ``run_once`` at every tick (``every_s`` apart, from the first) until ``stop`` is set;
    returns how many runs failed. A run that raises is logged and the next tick tries again (but
    ``RedisRefused``, our credentials or ACL refused, ends the loop: no tick could pass); ticks
    missed while a run overran are skipped, not caught up. Waiting is ``stop.wait``, so setting
    ``stop`` (a signal handler, a test) ends the wait at once."""
    failures = 0
    next_tick = clock()
    while not stop.is_set():
        try:
            run_once()
        except RedisRefused:  # no later tick can pass until an operator fixes a setting
            raise
        except Exception as exc:
            failures += 1
            log.error("schedule_run_failed", error_type=type(exc).__name__, error=str(exc))
        now = clock()
        next_tick += every_s * max(1, int((now - next_tick) // every_s) + 1)
        stop.wait(max(0.0, next_tick - now))
    return failures


def _stop_on_signals(stop: threading.Event) -> None:
    """The first SIGTERM/SIGINT lets the run in progress finish, then ends the loop; a second one
    acts as usual (ends the process at once)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("schedule_stopping", signal=signal.Signals(signum).name)
        stop.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)


def _echo(report: ScheduleReport) -> None:
    typer.echo(
        f"window {report.window}: {report.locations} locations, {report.published} published, "
        f"{report.already_published} already published, "
        f"{report.leftovers_published} leftovers flushed (run {report.run_id})"
    )


@app.callback(invoke_without_command=True)
def schedule(every: Every = None) -> None:
    """Flush leftovers, queue this window's tasks, publish them, record the run.

    Exits 0 only once every task is published; 2 on a bad setting or locations file, or when Redis
    refuses the credentials or an ACL permission; 1 otherwise. With --every it exits 0 on
    SIGTERM/SIGINT (2 on a bad setting at start, or once Redis refuses as above).
    """
    from services.schedule_jobs.settings import ScheduleSettings
    from services.schedule_jobs.wiring import run_from_settings

    try:
        every_s = parse_duration(every) if every is not None else None
        settings: ScheduleSettings = ScheduleSettings.load()
    except (ConfigurationError, ValueError) as exc:
        raise exit_with(str(exc)) from None
    configure_logging(level=settings.log_level)

    def run_once() -> None:
        _echo(asyncio.run(run_from_settings(settings)))

    if every_s is not None:
        stop = threading.Event()
        _stop_on_signals(stop)
        log.info("schedule_repeating", every_s=every_s)
        try:
            run_every(run_once, every_s=every_s, stop=stop)
        except RedisRefused as exc:
            raise redis_exit(exc, settings.redis_url) from None
        return
    try:
        run_once()
    except (EtlError, redis.RedisError) as exc:
        if refusal(exc) is not None:
            raise redis_exit(exc, settings.redis_url) from None
        if isinstance(exc, ConfigurationError):
            raise exit_with(str(exc)) from None
        message = f"schedule-jobs failed: {type(exc).__name__}: {exc}"
        raise exit_with(message, code=EXIT_FAILED) from None
