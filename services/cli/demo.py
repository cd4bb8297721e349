"""``trail-etl demo``: the whole pipeline on embedded defaults, with a table and a summary."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from etl_core.errors import ConfigurationError
from services.cli.exits import EXIT_FAILED, exit_with

DEMO_SOURCES = ("owm", "open-meteo")

if TYPE_CHECKING:
    from services.demo.run import DemoResult


def demo(
    locations: int = typer.Option(50, "--locations", min=1, max=100_000, help="Trails to label."),
    fetch_workers: int = typer.Option(
        2, "--fetch-workers", min=1, max=32, help="fetch-weather processes."
    ),
    categorize_workers: int = typer.Option(
        1, "--categorize-workers", min=1, max=32, help="categorize-trail-conditions processes."
    ),
    source: str = typer.Option(
        "owm",
        "--source",
        help="Weather source the workers use: owm or open-meteo (the mock serves both).",
    ),
    fault_rate: float = typer.Option(
        0.0, "--fault-rate", min=0.0, max=0.9, help="Share of mock answers that are 5xx errors."
    ),
    timeout_s: float = typer.Option(900.0, "--timeout-s", min=1.0, help="Give up after this long."),
    limit: int = typer.Option(
        100, "--limit", min=0, help="Show at most this many trails' conditions (0: none)."
    ),
    redis_url: str | None = typer.Option(
        None,
        "--redis-url",
        help="Use this Redis (it must hold no pipeline's keys) instead of a private one. "
        "REDIS_URL is not read: the demo never joins a live pipeline.",
    ),
) -> None:
    """Start the mock OWM and the weather service, seed trails, run the scheduler and the workers,
    and show every trail's condition with its reasons. Exits 0 when every location has one."""
    console = Console()
    console.print("[bold]trail-etl demo[/]: starting")
    # The demo brings the services along (FastAPI, SQLAlchemy, aiohttp): imported only here, so
    # every other command starts without them.
    from services.demo.environment import demo_environment, require_no_pipeline
    from services.demo.run import DemoOptions, run_demo

    if source not in DEMO_SOURCES:
        raise exit_with(
            f"--source: {source!r} is not one the mock serves ({', '.join(DEMO_SOURCES)})"
        )
    if redis_url:
        try:
            require_no_pipeline(redis_url)
        except ConfigurationError as exc:
            raise exit_with(str(exc)) from None

    options = DemoOptions(
        locations, fetch_workers, categorize_workers, fault_rate, timeout_s, limit
    )
    work_dir = Path(tempfile.mkdtemp(prefix="trail-etl-demo-"))
    result: DemoResult | None = None
    try:
        with demo_environment(
            work_dir,
            fault_rate=fault_rate,
            redis_url=redis_url,
            source=source,
            say=console.print,
        ) as env:
            result = run_demo(env, options, console)
    except ConfigurationError as exc:
        _keep(console, work_dir)
        raise exit_with(str(exc), code=EXIT_FAILED) from None
    _report(console, result)
    if not result.ok:
        _keep(console, work_dir)
        raise typer.Exit(EXIT_FAILED)  # _report said why
    shutil.rmtree(work_dir, ignore_errors=True)


def _keep(console: Console, work_dir: Path) -> None:
    console.print(
        f"[yellow]kept the work directory {work_dir}[/] (worker, mock and weather-service logs: "
        "*.log; the weather service's database: weather.db)"
    )


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _reasons(item: dict[str, Any]) -> str:
    parts = []
    for reason in item.get("reasons") or []:
        text = f"{reason['metric']} {_number(reason.get('value'))}"
        if reason.get("threshold") is not None:
            text += f" vs {_number(reason['threshold'])}"
        if reason.get("unit"):
            text += f" {reason['unit']}"
        parts.append(text)
    return "; ".join(parts)


def _report(console: Console, result: DemoResult) -> None:
    total = result.summary.get("conditions", len(result.sample))
    if result.sample:
        shown = f"{len(result.sample)} of {total}" if len(result.sample) < total else str(total)
        table = Table(title=f"Trail conditions ({shown})", title_justify="left")
        for column in ("location", "label", "confidence", "rule", "valid for (UTC)"):
            table.add_column(column, no_wrap=True)
        table.add_column("reasons")
        for item in result.sample:
            table.add_row(
                Text(item["location_id"]),
                item["label"],
                f"{item['confidence']:.2f}",
                Text(item["rule_id"]),
                str(item["valid_for"]).replace("T", " ").removesuffix(":00Z"),
                Text(_reasons(item)),
            )
        console.print(table)
        if len(result.sample) < total:
            console.print(
                f"({total - len(result.sample)} more: --limit, or GET /v1/conditions/latest)"
            )
    if result.labels:
        console.print("labels: " + ", ".join(f"{k} {v}" for k, v in sorted(result.labels.items())))
    summary = Table(title="Summary", show_header=False, title_justify="left")
    for key, value in result.summary.items():
        summary.add_row(key.replace("_", " "), _value(value))
    console.print(summary)
    console.print(("[green]" if result.ok else "[red]") + result.message)


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return str(value)
