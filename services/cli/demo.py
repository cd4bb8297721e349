"""``trail-etl demo``: the whole pipeline on embedded defaults, with a table and a summary."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from etl_core.errors import ConfigurationError
from services.cli.exits import EXIT_FAILED, exit_with
from services.demo.environment import demo_environment
from services.demo.run import DemoOptions, DemoResult, run_demo


def demo(
    locations: int = typer.Option(50, "--locations", min=1, max=100_000, help="Trails to label."),
    fetch_workers: int = typer.Option(
        2, "--fetch-workers", min=1, max=32, help="fetch-weather processes."
    ),
    categorize_workers: int = typer.Option(
        1, "--categorize-workers", min=1, max=32, help="categorize-trail-conditions processes."
    ),
    fault_rate: float = typer.Option(
        0.0, "--fault-rate", min=0.0, max=0.9, help="Share of mock OWM answers that are 5xx errors."
    ),
    timeout_s: float = typer.Option(900.0, "--timeout-s", min=1.0, help="Give up after this long."),
) -> None:
    """Start the mock OWM and the weather service, seed trails, run the scheduler and the workers,
    and show every trail's condition. Exits 0 when every location has one."""
    console = Console()
    options = DemoOptions(locations, fetch_workers, categorize_workers, fault_rate, timeout_s)
    with tempfile.TemporaryDirectory(prefix="trail-etl-demo-") as directory:
        try:
            with demo_environment(Path(directory), fault_rate=fault_rate) as env:
                result = run_demo(env, options, console)
        except ConfigurationError as exc:
            raise exit_with(str(exc), code=EXIT_FAILED) from None
    _report(console, result)
    if not result.ok:
        raise exit_with(result.message, code=EXIT_FAILED)


def _report(console: Console, result: DemoResult) -> None:
    table = Table(title=f"Trail conditions (first {len(result.sample)})")
    for column in ("location", "label", "confidence", "rule", "valid for"):
        table.add_column(column)
    for item in result.sample:
        table.add_row(
            item["location_id"],
            item["label"],
            f"{item['confidence']:.2f}",
            item["rule_id"],
            str(item["valid_for"]),
        )
    console.print(table)
    console.print("labels: " + ", ".join(f"{k} {v}" for k, v in sorted(result.labels.items())))
    summary = Table(title="Summary", show_header=False)
    for key, value in result.summary.items():
        summary.add_row(key.replace("_", " "), str(value))
    console.print(summary)
    console.print(("[green]" if result.ok else "[red]") + result.message)
