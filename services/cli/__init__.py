"""The ``trail-etl`` command line."""

from __future__ import annotations

import typer

from services.cli import demo, dlq, locations, pause, schedule, serve, status, worker

app = typer.Typer(
    name="trail-etl",
    help="A reliable weather-to-trail-conditions ETL pipeline on Redis Streams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo.demo)
app.add_typer(schedule.app, name="schedule")
app.add_typer(worker.app, name="worker")
app.add_typer(locations.app, name="locations")
app.add_typer(serve.app, name="serve")
app.add_typer(dlq.app, name="dlq")
app.command("status")(status.status)
app.command("pause")(pause.pause)
app.command("resume")(pause.resume)


def main() -> None:
    app()
