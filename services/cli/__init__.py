"""The ``trail-etl`` command line."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from services.cli import (
    demo,
    dlq,
    locations,
    migrate,
    pause,
    schedule,
    serve,
    status,
    tasks,
    worker,
)
from services.cli.common import fail

app = typer.Typer(
    name="trail-etl",
    help="A reliable weather-to-trail-conditions ETL pipeline on Redis Streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"trail-etl {version('trail-etl')}")
        raise typer.Exit()


@app.callback()
def _options(
    _version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    env_file: Path | None = typer.Option(
        None,
        "--env-file",
        help="Read settings from this file of KEY=VALUE lines first (a variable already set in "
        "the environment wins).",
    ),
) -> None:
    """A reliable weather-to-trail-conditions ETL pipeline on Redis Streams."""
    if env_file is not None:
        load_env_file(env_file)


def load_env_file(path: Path) -> None:
    """Put the settings of ``path`` into the environment, under what is already set there."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise fail(f"--env-file {path}: no such file")
    try:
        values = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"--env-file {path}: cannot read it: {exc}") from None
    for name, value in values.items():
        if value is not None:
            os.environ.setdefault(name, value)


app.command("demo")(demo.demo)
app.add_typer(schedule.app, name="schedule")
app.add_typer(worker.app, name="worker")
app.add_typer(locations.app, name="locations")
app.add_typer(serve.app, name="serve")
app.add_typer(dlq.app, name="dlq")
app.command("status")(status.status)
app.command("pause")(pause.pause)
app.command("resume")(pause.resume)
app.command("migrate-keys")(migrate.migrate_keys)
app.add_typer(tasks.tasks_app, name="tasks")
app.add_typer(tasks.task_app, name="task")


def main() -> None:
    app()
