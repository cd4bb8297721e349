"""``trail-etl migrate-keys``: move a Redis of the layout before hash tags to today's names
(``services.key_migration``), once, with every worker and the scheduler stopped."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from services.cli.common import console, fail, redis_client, with_redis_errors
from services.key_migration import MigrationRefused, MoveState, migrate, plan


@with_redis_errors
def migrate_keys(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would move; change nothing."),
) -> None:
    """Move unfinished tasks, dead letters, delayed retries, publish markers and the shared
    limiter's, breakers' and pauses' state from the old key names to today's.

    Run it once when upgrading from a version without partition tags (streams named
    owm-ingestion-stream rather than owm-ingestion-stream:{p0}), after stopping every worker and
    the scheduler and before starting the new ones. Safe to run again.
    """
    client = redis_client()
    try:
        moves = plan(client) if dry_run else migrate(client)
    except MigrationRefused as exc:
        raise fail(f"migrate-keys refused: {exc}") from None
    finally:
        client.close()
    if not moves:
        console.print("nothing to migrate: no key of the old layout is left")
        return
    table = Table("old key", "new key", "type", "size", "state")
    for move in moves:
        table.add_row(Text(move.old), Text(move.new), move.kind, str(move.size), str(move.state))
    console.print(table)
    conflicts = sum(m.state is MoveState.CONFLICT for m in moves)
    verb = "would move" if dry_run else "moved"
    console.print(
        f"{verb} {sum(m.state is not MoveState.CONFLICT for m in moves)} key(s)"
        + (f"; {conflicts} conflict(s) would refuse the migration" if conflicts else "")
    )
