"""``trail-etl tasks active|delayed`` and ``trail-etl task show``: which tasks each consumer holds,
which wait for a retry and when, and where one task (or every task of a location) is now
(``services.task_views``)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from services.cli.common import console, fail, redis_client, with_redis_errors
from services.status import PIPELINE_STAGES

tasks_app = typer.Typer(
    help="Tasks in flight: active (held by a worker), delayed (waiting for a retry).",
    no_args_is_help=True,
)
task_app = typer.Typer(help="One task: where it is.", no_args_is_help=True)

STAGE_OPTION = typer.Option(
    None, "--stage", help=f"Only this stage ({', '.join(PIPELINE_STAGES)})."
)
LIMIT_OPTION = typer.Option(100, "--limit", min=1, max=100_000, help="Show at most this many.")
JSON_OPTION = typer.Option(False, "--json", help="Print JSON (numbers as numbers).")


def _stage(stage: str | None) -> str | None:
    if stage is not None and stage not in PIPELINE_STAGES:
        raise fail(f"unknown stage {stage!r}; it must be one of {', '.join(PIPELINE_STAGES)}")
    return stage


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    sign, ms = ("-" if ms < 0 else ""), abs(ms)
    if ms < 60_000:
        return f"{sign}{ms / 1000:.1f}s"
    if ms < 3_600_000:
        return f"{sign}{ms // 60_000}m{ms % 60_000 // 1000:02d}s"
    return f"{sign}{ms // 3_600_000}h{ms % 3_600_000 // 60_000:02d}m"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    return table


def _print_json(places: list[Any]) -> None:
    console.print_json(json.dumps([p.as_json() for p in places]))


@tasks_app.command("active")
@with_redis_errors
def tasks_active(
    stage: str | None = STAGE_OPTION, limit: int = LIMIT_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """Tasks read by a worker and not yet settled, the longest held first: who holds each, for
    how long, and how often it was handed out."""
    from services.task_views import active

    client = redis_client()
    try:
        places = active(client, stage=_stage(stage), limit=limit)
    finally:
        client.close()
    if as_json:
        _print_json(places)
        return
    table = _table(f"{len(places)} active", "stage", "task", "consumer", "held", "deliv.")
    for p in places:
        table.add_row(
            p.stage,
            Text(p.task_id),
            Text(p.consumer or ""),
            _duration(p.held_ms),
            str(p.deliveries),
        )
    console.print(table)


@tasks_app.command("delayed")
@with_redis_errors
def tasks_delayed(
    stage: str | None = STAGE_OPTION, limit: int = LIMIT_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """Tasks waiting for a retry, the soonest due first, with the attempts they have spent."""
    from services.task_views import delayed

    client = redis_client()
    try:
        places = delayed(client, stage=_stage(stage), limit=limit)
    finally:
        client.close()
    if as_json:
        _print_json(places)
        return
    table = _table(f"{len(places)} delayed", "stage", "task", "due in", "attempts")
    for p in places:
        table.add_row(p.stage, Text(p.task_id), _duration(p.due_in_ms), p.attempts or "")
    console.print(table)


@task_app.command("show")
@with_redis_errors
def task_show(
    needle: str = typer.Argument(
        ...,
        metavar="ID_OR_LOCATION",
        help="A task id (owm.ingest:LOCATION@WINDOW) or a location id.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Where a task is now, or every task of a location: queued, active (which consumer, for how
    long), delayed (due when), dead-lettered (why). Reads the streams whole: an operator's
    command."""
    from services.task_views import find

    client = redis_client()
    try:
        places = find(client, needle)
    finally:
        client.close()
    if as_json:
        _print_json(places)
        return
    if not places:
        console.print(
            Text(
                f"{needle}: not queued, active, delayed or dead-lettered (done, not yet "
                "scheduled, or trimmed away)"
            )
        )
        return
    for p in places:
        detail = {
            "queued": f"entry {p.entry_id}, not yet read",
            "active": f"held by {p.consumer} for {_duration(p.held_ms)}, "
            f"delivered {p.deliveries} time(s), entry {p.entry_id}",
            "delayed": f"due in {_duration(p.due_in_ms)}",
            "dead": f"{p.error_type}: {p.error} (dead-letter entry {p.entry_id})",
        }[p.where]
        console.print(
            Text(f"{p.task_id}: {p.where} in {p.stage} ({p.stream}), attempts {p.attempts}: ")
            + Text(detail)
        )
