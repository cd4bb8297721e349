"""``trail-etl schedule``: one schedule-jobs run (meant for cron)."""

from __future__ import annotations

import asyncio

import redis
import typer

from etl_core.errors import ConfigurationError, EtlError
from etl_core.logging import configure_logging
from services.cli.exits import EXIT_FAILED, exit_with
from services.schedule_jobs.settings import ScheduleSettings
from services.schedule_jobs.wiring import run_from_settings

app = typer.Typer(
    help="Queue one ingestion task per location for the current window (run it from cron).",
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def schedule() -> None:
    """Flush leftovers, queue this window's tasks, publish them, record the run.

    Exits 0 only once every task is published; 2 on a bad setting or locations file; 1 otherwise.
    """
    try:
        settings: ScheduleSettings = ScheduleSettings.load()
    except ConfigurationError as exc:
        raise exit_with(str(exc)) from None
    configure_logging(level=settings.log_level)
    try:
        report = asyncio.run(run_from_settings(settings))
    except ConfigurationError as exc:
        raise exit_with(str(exc)) from None
    except (EtlError, redis.RedisError) as exc:
        message = f"schedule-jobs failed: {type(exc).__name__}: {exc}"
        raise exit_with(message, code=EXIT_FAILED) from None
    typer.echo(
        f"window {report.window}: {report.locations} locations, {report.published} published, "
        f"{report.already_published} already published, "
        f"{report.leftovers_published} leftovers flushed (run {report.run_id})"
    )
