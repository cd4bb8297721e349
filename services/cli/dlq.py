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

import typer
from rich.table import Table
from rich.text import Text

from etl_core import keys
from etl_core.deadletter import DeadLetters
from etl_core.errors import DeadLetterNotFound
from etl_core.text import clip
from services.cli.common import console, fail, redis_client, with_redis_errors

app = typer.Typer(help="Dead-letter streams: list, show, redrive, purge.", no_args_is_help=True)

STREAM_HELP = "Source stream (owm-ingestion-stream) or its dead-letter stream (...:dlq)."
LIST_VALUE_CHARS = 160  # a whole task id of the pipeline (at most 133 characters) fits
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _shown(value: str) -> str:
    """A value as the listing shows it: clipped, control characters escaped (a terminal would
    obey them)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], clip(value, LIST_VALUE_CHARS))


def _cell(value: str) -> Text:
    return Text(_shown(value))  # a Text, not a str: rich would read markup in a str


def _source(stream: str) -> str:
    return keys.source_of_dead_letter_stream(stream) if stream.endswith(keys.DLQ_SUFFIX) else stream


def _open(stream: str) -> DeadLetters:
    return DeadLetters(redis_client(), _source(stream))


@app.command("list")
@with_redis_errors
def list_(
    stream: str = typer.Argument(..., help=STREAM_HELP),
    limit: int = typer.Option(50, min=1, help="Show at most this many entries."),
    error_type: str | None = typer.Option(None, "--error-type", help="Only this error type."),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON, every value whole, instead of a table."
    ),
) -> None:
    """List dead-letter entries, oldest first, with counts per error type. The table clips long
    values (`dlq show` prints an entry whole)."""
    dlq = _open(stream)
    entries = dlq.list_entries(limit=limit, error_type=error_type)
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
    table = Table(title=f"{dlq.dlq}: {dlq.count()} entries")
    for column in ("id", "task_id", "error_type", "error", "deliveries", "stage"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(
            e.id,
            _cell(e.task_id),
            _cell(e.error_type),
            _cell(e.error),
            _cell(e.fields.get("dlq_deliveries", "")),
            _cell(e.fields.get("dlq_stage", "")),
        )
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
        entry = _open(stream).show(entry_id)
    except DeadLetterNotFound as exc:
        raise fail(str(exc), code=1) from None
    console.print_json(json.dumps({"id": entry.id, **entry.fields}))


def _check_selection(ids: list[str] | None, all_: bool) -> list[str] | None:
    if bool(ids) == all_:
        raise fail("give either --id ID (one or more) or --all")
    return None if all_ else ids


@app.command()
@with_redis_errors
def redrive(
    stream: str = typer.Argument(..., help=STREAM_HELP),
    ids: list[str] | None = typer.Option(None, "--id", help="Entry id to redrive (repeatable)."),
    all_: bool = typer.Option(False, "--all", help="Redrive every entry (see --error-type)."),
    error_type: str | None = typer.Option(None, "--error-type", help="Only entries of this type."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would move; move nothing."),
) -> None:
    """Move entries back to their source stream, atomically, with attempts reset."""
    selection = _check_selection(ids, all_)
    report = _open(stream).redrive(selection, error_type=error_type, dry_run=dry_run)
    if dry_run:
        console.print(
            f"would redrive {len(report.selected)} entries: {' '.join(report.selected[:20])}"
        )
        return
    console.print(f"redrove {len(report.moved)} entries to {_source(stream)}")
    if report.missing:
        console.print(f"not found: {' '.join(report.missing)}")
        raise typer.Exit(1)


@app.command()
@with_redis_errors
def purge(
    stream: str = typer.Argument(..., help=STREAM_HELP),
    ids: list[str] | None = typer.Option(None, "--id", help="Entry id to delete (repeatable)."),
    all_: bool = typer.Option(False, "--all", help="Delete every entry (see --error-type)."),
    error_type: str | None = typer.Option(None, "--error-type", help="Only entries of this type."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: the entries are deleted for good."),
) -> None:
    """Delete dead-letter entries for good. Needs --yes."""
    selection = _check_selection(ids, all_)
    if not yes:
        raise fail("purge deletes entries for good: add --yes to confirm")
    removed = _open(stream).purge(selection, error_type=error_type)
    console.print(f"purged {removed} entries from {keys.dead_letter_stream(_source(stream))}")
