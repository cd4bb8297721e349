"""``trail-etl dlq``: inspect, redrive and purge dead-letter streams.

A dead-letter entry holds whatever was written to the stream, poison included, so the table of
``dlq list`` shows each value clipped (``…[+N chars]``), with control characters escaped and no
rich markup read from it. ``dlq show`` and ``dlq list --json`` (the export) print every value whole,
as JSON.

A failing Redis command (unreachable, credentials or an ACL permission refused) ends a command with
one line naming it (``common.with_redis_errors``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from etl_core import keys
from etl_core.deadletter import DeadLetter, DeadLetters
from etl_core.errors import DeadLetterNotFound
from etl_core.text import clip
from services import pipeline_keys
from services.cli.common import console, fail, redis_client, with_redis_errors

app = typer.Typer(help="Dead-letter streams: list, show, redrive, purge.", no_args_is_help=True)

STREAM_HELP = (
    "Source stream (owm-ingestion-stream, owm-categorization-stream, with or without their "
    "partition tag :{p0}) or its dead-letter stream (...:dlq)."
)
LIST_VALUE_CHARS = 160  # a whole task id of the pipeline (at most 133 characters) fits
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _shown(value: str) -> str:
    """A value as the listing shows it: clipped, control characters escaped (a terminal would
    obey them)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], clip(value, LIST_VALUE_CHARS))


def _cell(value: str) -> Text:
    return Text(_shown(value))  # a Text, not a str: rich would read markup in a str


def _source(stream: str) -> str:
    """The source stream an operator means: a dead-letter stream names its source, and a pipeline
    stream may be named without its partition tag (``owm-ingestion-stream``)."""
    source = (
        keys.source_of_dead_letter_stream(stream) if stream.endswith(keys.DLQ_SUFFIX) else stream
    )
    return pipeline_keys.UNTAGGED_STREAMS.get(source, source)


_ENTRY_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")


def _entry_id(entry_id: str) -> str:
    if not _ENTRY_ID.match(entry_id):
        raise fail(
            f"{clip(entry_id, 40)!r} is not a stream entry id (they look like 1732262400000-0; "
            "`trail-etl dlq list STREAM` shows them)"
        )
    return entry_id


def _open(stream: str) -> DeadLetters:
    """The dead letters of ``stream``: a pipeline stream, or another one whose dead-letter stream
    exists (etl_core serves other pipelines too). A typo is an error, not an empty listing."""
    source = _source(stream)
    client = redis_client()
    if source not in pipeline_keys.PIPELINE_STREAMS and not client.exists(
        keys.dead_letter_stream(source)
    ):
        client.close()
        known = ", ".join(pipeline_keys.UNTAGGED_STREAMS)
        raise fail(
            f"unknown stream {clip(stream, 80)!r}: it has no dead-letter stream; the pipeline's "
            f"streams are {known} (each also as NAME:{{p0}} and NAME...:dlq)"
        )
    return DeadLetters(client, source)


def _task_place(entry: DeadLetter) -> tuple[str | None, str | None]:
    """The (location id, window) a pipeline task's entry is for, from its payload (None when the
    entry is not a pipeline task or is malformed: a poison entry can hold anything)."""
    try:
        payload = json.loads(entry.original_fields.get("payload", ""))
    except ValueError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    location, window = payload.get("location_id"), payload.get("window")
    return (
        location if isinstance(location, str) else None,
        window if isinstance(window, str) else None,
    )


def _where(location: str | None, window: str | None) -> Callable[[DeadLetter], bool] | None:
    if location is None and window is None:
        return None

    def matches(entry: DeadLetter) -> bool:
        entry_location, entry_window = _task_place(entry)
        return (location is None or entry_location == location) and (
            window is None or entry_window == window
        )

    return matches


LOCATION_OPTION = typer.Option(None, "--location", help="Only tasks of this location id.")
WINDOW_OPTION = typer.Option(
    None, "--window", help="Only tasks of this schedule window (e.g. 2026-12-04T06:00Z)."
)
ERROR_TYPE_OPTION = typer.Option(None, "--error-type", help="Only this error type.")


def _short_task(entry: DeadLetter) -> str:
    """The task id without its type (``owm.ingest:trail@window`` -> ``trail@window``): the type is
    the stream's own, and the table is narrow."""
    prefix = entry.original_fields.get("type", "") + ":"
    task_id = entry.task_id
    return task_id[len(prefix) :] if len(prefix) > 1 and task_id.startswith(prefix) else task_id


def _when(entry_id: str) -> str:
    """When an entry was dead-lettered, from its id (ms since the epoch, the server's clock)."""
    try:
        moment = datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return "?"
    return moment.strftime("%m-%d %H:%M")


@app.command("list")
@with_redis_errors
def list_(
    stream: str = typer.Argument(..., help=STREAM_HELP),
    limit: int = typer.Option(50, min=1, help="Show at most this many entries."),
    error_type: str | None = ERROR_TYPE_OPTION,
    location: str | None = LOCATION_OPTION,
    window: str | None = WINDOW_OPTION,
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON, every value whole, instead of a table."
    ),
) -> None:
    """List dead-letter entries, oldest first, one line each, with counts per error type. The
    table clips long values (`dlq show` prints an entry whole)."""
    dlq = _open(stream)
    where = _where(location, window)
    entries = list(
        islice((e for e in dlq.iter(error_type=error_type) if where is None or where(e)), limit)
    )
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "stream": dlq.dlq,
                    "total": dlq.count(),
                    "by_error_type": dlq.counts_by_error_type(),
                    "entries": [{"id": e.id, **e.fields} for e in entries],
                }
            )
        )
        return
    table = Table(
        title=f"{dlq.dlq}: {dlq.count()} entries",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        expand=True,
        collapse_padding=True,
        pad_edge=False,
    )
    # One line per entry at any width: the id and time whole, the rest cut with an ellipsis.
    table.add_column("id", no_wrap=True, min_width=15)
    table.add_column("dead at", no_wrap=True, min_width=11)
    table.add_column("task", no_wrap=True, overflow="ellipsis", ratio=1, min_width=8)
    table.add_column("error type", no_wrap=True, overflow="ellipsis", max_width=26)
    table.add_column("error", no_wrap=True, overflow="ellipsis", ratio=1, min_width=8)
    for e in entries:
        table.add_row(e.id, _when(e.id), _cell(_short_task(e)), _cell(e.error_type), _cell(e.error))
    console.print(table)
    counts = dlq.counts_by_error_type()
    if counts:
        by_type = ", ".join(f"{_shown(k) or '?'}={v}" for k, v in sorted(counts.items()))
        console.print(Text(f"by error type: {by_type}"))


@app.command()
@with_redis_errors
def show(
    stream: str = typer.Argument(..., help=STREAM_HELP),
    entry_id: str = typer.Argument(..., metavar="ID", help="Dead-letter entry id."),
) -> None:
    """Show one dead-letter entry with every field, whole (JSON)."""
    try:
        entry = _open(stream).show(_entry_id(entry_id))
    except DeadLetterNotFound as exc:
        raise fail(str(exc), code=1) from None
    console.print_json(json.dumps({"id": entry.id, **entry.fields}))


def _check_selection(
    ids: list[str] | None, all_: bool, location: str | None, window: str | None
) -> list[str] | None:
    """The ids to act on, or None for every entry the filters select. One way to select is
    required: --id, --all, or a place (--location / --window)."""
    by_place = location is not None or window is not None
    if ids and (all_ or by_place):
        raise fail("give either --id ID (one or more), or --all / --location / --window")
    if not ids and not all_ and not by_place:
        raise fail("give either --id ID (one or more), --all, --location ID or --window LABEL")
    return [_entry_id(i) for i in ids] if ids else None


def _preview(dlq: DeadLetters, selected: list[str], verb: str) -> None:
    shown = " ".join(selected[:20]) + (" ..." if len(selected) > 20 else "")
    console.print(f"would {verb} {len(selected)} entries{': ' + shown if selected else ''}")


@app.command()
@with_redis_errors
def redrive(
    stream: str = typer.Argument(..., help=STREAM_HELP),
    ids: list[str] | None = typer.Option(None, "--id", help="Entry id to redrive (repeatable)."),
    all_: bool = typer.Option(False, "--all", help="Redrive every entry (see --error-type)."),
    error_type: str | None = ERROR_TYPE_OPTION,
    location: str | None = LOCATION_OPTION,
    window: str | None = WINDOW_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would move; move nothing."),
) -> None:
    """Move entries back to their source stream, atomically, with attempts reset."""
    selection = _check_selection(ids, all_, location, window)
    dlq = _open(stream)
    where = _where(location, window)
    if dry_run:
        _preview(dlq, dlq.select(selection, error_type=error_type, where=where), "redrive")
        return
    report = dlq.redrive(selection, error_type=error_type, where=where)
    console.print(f"redrove {len(report.moved)} entries to {dlq.stream}")
    if report.missing:
        console.print(f"not found: {' '.join(report.missing)}")
        raise typer.Exit(1)


@app.command()
@with_redis_errors
def purge(
    stream: str = typer.Argument(..., help=STREAM_HELP),
    ids: list[str] | None = typer.Option(None, "--id", help="Entry id to delete (repeatable)."),
    all_: bool = typer.Option(False, "--all", help="Delete every entry (see --error-type)."),
    error_type: str | None = ERROR_TYPE_OPTION,
    location: str | None = LOCATION_OPTION,
    window: str | None = WINDOW_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would go; delete nothing."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: the entries are deleted for good."),
) -> None:
    """Delete dead-letter entries for good. Needs --yes (or --dry-run to look first)."""
    selection = _check_selection(ids, all_, location, window)
    if not yes and not dry_run:
        raise fail("purge deletes entries for good: add --yes to confirm (or --dry-run to look)")
    dlq = _open(stream)
    where = _where(location, window)
    if dry_run:
        _preview(dlq, dlq.select(selection, error_type=error_type, where=where), "purge")
        return
    removed = dlq.purge(selection, error_type=error_type, where=where)
    console.print(f"purged {removed} entries from {dlq.dlq}")
