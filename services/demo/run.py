"""The demo run: seed locations, schedule, run the workers, show progress, report."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from etl_core import keys
from etl_core.deadletter import DeadLetters
from services import pipeline_keys
from services.demo.environment import DEMO_API_KEY, Environment, cli_command, demo_redis
from services.locations_import import LocationRecord
from services.schedule_jobs.locations import location_rows

TRAILS_FILE = Path(__file__).resolve().parents[1] / "data" / "trails.csv"
SEED_CHUNK = 1000
POLL_S = 0.5
SOILS = ("well", "moderately_well", "somewhat_poorly", "poorly", "excessively", None)
ASPECTS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
CANOPIES = ("open", "partial", "forest")


@dataclass(frozen=True)
class DemoOptions:
    locations: int = 50
    fetch_workers: int = 2
    categorize_workers: int = 1
    fault_rate: float = 0.0
    timeout_s: float = 900.0
    limit: int = 100  # conditions shown in the table


@dataclass
class DemoResult:
    ok: bool
    message: str
    elapsed_s: float
    summary: dict[str, Any] = field(default_factory=dict)
    labels: Counter[str] = field(default_factory=Counter)
    sample: list[dict[str, Any]] = field(default_factory=list)  # the first ``limit`` conditions


def demo_locations(n: int) -> list[dict[str, Any]]:
    """The shipped trails first, then synthetic ones spread over North America and Europe."""
    bodies = [
        LocationRecord.model_validate(raw.fields).as_body()
        for raw in location_rows(TRAILS_FILE, label=str(TRAILS_FILE))
    ][:n]
    for i in range(n - len(bodies)):
        lat = 25.0 + (i * 7.31) % 40.0
        lon = (-125.0 + (i * 13.17) % 60.0) if i % 2 else (-10.0 + (i * 11.03) % 40.0)
        body: dict[str, Any] = {
            "id": f"synthetic-{i:05d}",
            "name": f"Synthetic trail {i}",
            "lat": round(lat, 4),
            "lon": round(lon, 4),
            "elevation_m": float((i * 137) % 3200),
            "aspect": ASPECTS[i % len(ASPECTS)],
            "canopy": CANOPIES[i % len(CANOPIES)],
        }
        if SOILS[i % len(SOILS)] is not None:
            body["soil_drainage"] = SOILS[i % len(SOILS)]
        bodies.append(body)
    return bodies


def seed_locations(http: httpx.Client, n: int) -> None:
    """Create ``n`` demo locations in the weather service."""
    bodies = demo_locations(n)
    for start in range(0, len(bodies), SEED_CHUNK):
        response = http.post(
            "/v1/locations",
            json={"locations": bodies[start : start + SEED_CHUNK]},
            headers={"X-API-Key": DEMO_API_KEY},
        )
        response.raise_for_status()


def _worker_counts(log_dir: Path) -> Counter[str]:
    """Sum the ``worker_stopped`` lines the workers log on SIGTERM."""
    totals: Counter[str] = Counter()
    for path in log_dir.glob("*-worker-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if '"worker_stopped"' in line:
                event = json.loads(line)
                for name in (
                    "done",
                    "forwarded",
                    "retried",
                    "waited",
                    "dead_lettered",
                    "reclaimed",
                ):
                    totals[name] += int(event.get(name, 0))
    return totals


def run_demo(env: Environment, options: DemoOptions, console: Console) -> DemoResult:
    started = time.monotonic()
    n = options.locations
    with httpx.Client(base_url=env.weather_url, timeout=30.0) as http:
        console.print(
            f"[bold]trail-etl demo[/]: {n} locations, Redis: {env.redis_kind}, "
            f"weather source {env.source}, served by the mock at {env.owm_url} "
            f"(fault rate {options.fault_rate:.0%}), "
            f"weather service at {env.weather_url}"
        )
        console.print(f"seeding {n} locations into the weather service")
        seed_locations(http, n)
        console.print("scheduling: one fetch task per location (trail-etl schedule)")
        scheduled = subprocess.run(
            cli_command("schedule"),
            env=env.full_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if scheduled.returncode != 0:
            return DemoResult(
                False,
                f"schedule-jobs failed: {scheduled.stderr.strip()[-500:]}",
                time.monotonic() - started,
            )
        console.print(scheduled.stdout.strip())
        console.print(
            f"starting {options.fetch_workers} fetch-weather and {options.categorize_workers} "
            "categorize-trail-conditions worker processes"
        )
        start_workers(env, options.fetch_workers, options.categorize_workers)
        done = _follow(http, env, options, console)
        env.children.stop({n for n, _p in env.children.procs if "-worker-" in n})
        labels, sample = _conditions(http, options.limit)
        stats = httpx.get(
            env.owm_url + "/__stats", headers=env.owm_admin_headers, timeout=10
        ).json()
    client = demo_redis(env.redis_url)
    dead = {
        s: DeadLetters(client, s).count()
        for s in (pipeline_keys.INGESTION_STREAM, pipeline_keys.CATEGORIZATION_STREAM)
    }
    client.close()
    counts = _worker_counts(env.work_dir)
    elapsed = time.monotonic() - started
    summary = {
        "locations": n,
        "conditions": done,
        "tasks_scheduled": n,
        "source": env.source,
        "source_calls": stats.get("requests_total", 0),
        "source_calls_by_endpoint": stats.get("requests_by_endpoint", {}),
        "retries": counts["retried"],
        "rate_limit_waits": counts["waited"],
        "dead_letters": dead,
        "elapsed_s": round(elapsed, 1),
        "locations_per_s": round(done / elapsed, 1) if elapsed else 0.0,
    }
    ok = done >= n
    message = (
        f"every location has a trail condition ({done}/{n})"
        if ok
        else f"only {done} of {n} locations have a condition; dead letters: "
        + ", ".join(f"{stream} {count}" for stream, count in dead.items())
    )
    return DemoResult(ok, message, elapsed, summary, labels, sample)


def start_workers(env: Environment, fetch_workers: int, categorize_workers: int) -> set[str]:
    """Start the worker processes; returns their names (for ``env.children.stop``)."""
    pipeline_env = env.pipeline_env()
    names: set[str] = set()
    for kind, count in (
        ("fetch-weather", fetch_workers),
        ("categorize-trail-conditions", categorize_workers),
    ):
        prefix = "fetch" if kind == "fetch-weather" else "categorize"
        for i in range(count):
            name = f"{prefix}-worker-{i}"
            env.children.start(name, cli_command("worker", kind), pipeline_env)
            names.add(name)
    return names


def _waiting(client: Any) -> str:
    """Why tasks are not moving, if they are not: a paused stage and its reason, delayed retries."""
    parts = []
    for stage in (pipeline_keys.FETCH_GROUP, pipeline_keys.CATEGORIZE_GROUP):
        reason = client.hget(keys.stage_pause(stage), "reason")
        if reason:
            parts.append(f"{stage} paused: {reason.decode(errors='replace')[:120]}")
    delayed = sum(
        int(client.zcard(keys.delayed_set(s)))
        for s in (pipeline_keys.INGESTION_STREAM, pipeline_keys.CATEGORIZATION_STREAM)
    )
    if delayed:
        parts.append(f"{delayed} tasks waiting to retry")
    return "; ".join(parts)


class _Forwarded:
    """Distinct locations fetch-weather has handed to categorize, read incrementally from the
    categorization stream (before the workers trim it)."""

    def __init__(self) -> None:
        self.task_ids: set[Any] = set()
        self.after = "-"

    def poll(self, client: Any) -> int:
        while True:
            page = client.xrange(
                pipeline_keys.CATEGORIZATION_STREAM, min=self.after, max="+", count=1000
            )
            for entry_id, fields in page:
                self.task_ids.add(fields.get(b"task_id", b""))
                self.after = "(" + entry_id.decode()
            if len(page) < 1000:
                return len(self.task_ids)


def _follow(http: httpx.Client, env: Environment, options: DemoOptions, console: Console) -> int:
    deadline = time.monotonic() + options.timeout_s
    done = 0
    n = options.locations
    dead_letter_streams = [
        keys.dead_letter_stream(s)
        for s in (pipeline_keys.INGESTION_STREAM, pipeline_keys.CATEGORIZATION_STREAM)
    ]
    client = demo_redis(env.redis_url)
    forwarded = _Forwarded()
    columns = (
        TextColumn("labelled"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("fetched {task.fields[fetched]}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[waiting]}"),
    )
    last_waiting = ""
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("conditions", total=n, fetched=0, waiting="")
        while done < n and time.monotonic() < deadline:
            done = int(http.get("/v1/stats").json()["conditions"])
            waiting = _waiting(client)
            if waiting != last_waiting and waiting:
                progress.console.print(f"[yellow]waiting[/]: {waiting}")
            last_waiting = waiting
            progress.update(
                bar,
                completed=min(done, n),
                fetched=min(forwarded.poll(client), n),
                waiting=f"[yellow]{waiting}[/]" if waiting else "",
            )
            workers = [p for name, p in env.children.procs if "-worker-" in name]
            if workers and all(p.poll() is not None for p in workers):
                console.print("[red]every worker process exited[/]")
                break
            dead = sum(int(client.xlen(name)) for name in dead_letter_streams)
            if dead and done + dead >= n:
                console.print(f"[red]{dead} tasks ended in dead-letter streams[/]")
                break
            time.sleep(POLL_S)
    client.close()
    return done


def _conditions(http: httpx.Client, limit: int) -> tuple[Counter[str], list[dict[str, Any]]]:
    labels: Counter[str] = Counter()
    sample: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = http.get("/v1/conditions/latest", params=params).json()
        for item in page["items"]:
            labels[item["label"]] += 1
            if len(sample) < limit:
                sample.append(item)
        cursor = page.get("next_cursor")
        if not cursor:
            return labels, sample
