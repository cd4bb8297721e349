"""End-to-end pipeline throughput on the demo's set-up (mock OWM at zero latency, no rate limit,
SQLite weather service, private redis-server), and beside it the mock's own onecall requests/s
measured alone in the same run (the ceiling).

Two windows are measured, each from the start of ``trail-etl schedule`` to the last categorize
task acknowledged (every location has its condition for the window), with the worker processes
already running and reading, as their Deployments are in production:

* ``cold``: every location is new, so each costs one onecall plus three day_summary calls (its
  missing history): four paid calls per location, which the mock's ceiling alone bounds far below
  the steady rate.
* ``steady``: the next window, with history stored: one onecall per location. This is what the
  pipeline does every hour in production, and the figure the target is about. Between the two,
  Redis keeps only what outlives a window (the history-coverage marks) and loses the window's
  tasks, marks and cached OWM answers, as the next hour's task ids would not find them either; the
  weather service keeps its data; the workers are restarted.

Beside each window's rate it prints the CPU time each part spent per location (from /proc, Linux;
the scheduler's from its rusage, Redis's from ``INFO cpu``): on 2 cores the pipeline is CPU-bound,
so this says where a location's cost goes, and the bound the total puts on the rate.

Every Python module is compiled to bytecode first, as the image is built (``UV_COMPILE_BYTECODE=1``
and ``compileall`` in the Dockerfile): the window includes the scheduler's start-up, which a
CronJob pod pays with compiled modules, and a machine with ``PYTHONDONTWRITEBYTECODE`` set would
otherwise recompile every module of every process it starts (~2.2 s against ~0.9 s to import the
CLI on this machine).

With ``--source open-meteo`` the workers use the Open-Meteo source (the mock serves both): a new
location then costs one call, past days included, so the cold window is one call per location too.

Run: uv run python bench/pipeline_bench.py [locations] [fetch_workers=1] [categorize_workers=1]
[--source owm|open-meteo] (target: >= 300 locations/s for 10,000 locations on 2 cores)
"""

from __future__ import annotations

import compileall
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
import mock_owm_bench  # noqa: E402
import redis  # noqa: E402

from etl_core import keys  # noqa: E402
from services import pipeline_keys  # noqa: E402
from services.demo.environment import Environment, cli_command, demo_environment  # noqa: E402
from services.demo.run import seed_locations, start_workers  # noqa: E402
from services.fetch_weather import keys as fetch_keys  # noqa: E402

POLL_S = 0.05
CPU_PARTS = ("fetch", "categorize", "weather-service", "mock-owm")
OTHER_PARTS = ("schedule", "redis")
PACKAGES = ("etl_core", "services", "weather_service", "mock_owm")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (0 where /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_by_part(env: Environment) -> dict[str, float]:
    """CPU seconds so far of the demo's processes, summed per part (workers by kind)."""
    totals: dict[str, float] = defaultdict(float)
    for name, proc in env.children.procs:
        part = next((p for p in CPU_PARTS if name.startswith(p)), None)
        if part is not None and proc.poll() is None:
            totals[part] += _cpu_s(proc.pid)
    return totals


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _redis_cpu_s(client: redis.Redis) -> float:
    info: dict[str, Any] = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _redis_calls(client: redis.Redis) -> dict[str, int]:
    """Commands Redis has run so far, by name (``INFO commandstats``); scripts' inner commands
    count under their own names beside the ``evalsha`` that ran them."""
    stats: dict[str, Any] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def _acked(client: redis.Redis, stream: str, group: str) -> int:
    """Entries of ``stream`` the group has read and acknowledged."""
    for info in client.xinfo_groups(stream) if client.exists(stream) else []:
        name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
        if name == group:
            return int(info.get("entries-read") or 0) - int(info["pending"])
    return 0


def _live(client: redis.Redis, group: str) -> int:
    """Worker processes of ``group`` whose read loop has written its heartbeat."""
    return sum(1 for _ in client.scan_iter(match=keys.heartbeat_prefix(group) + "*"))


def _wait_for_workers(client: redis.Redis, fetch_workers: int, categorize_workers: int) -> None:
    deadline = time.monotonic() + 120
    while (
        _live(client, pipeline_keys.FETCH_GROUP) < fetch_workers
        or _live(client, pipeline_keys.CATEGORIZE_GROUP) < categorize_workers
    ):
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start reading within 120 s")
        time.sleep(POLL_S)


def run_window(env: Environment, n: int, fetch_workers: int, categorize_workers: int) -> dict:
    """Workers up and reading (as their Deployments are), then the clock starts with
    ``trail-etl schedule`` and stops when the last categorize task is acknowledged."""
    client = redis.Redis.from_url(env.redis_url)
    httpx.post(
        env.owm_url + "/__stats/reset", headers=env.owm_admin_headers, timeout=10
    ).raise_for_status()
    names = start_workers(env, fetch_workers, categorize_workers)
    _wait_for_workers(client, fetch_workers, categorize_workers)
    cpu_before = _cpu_by_part(env)
    redis_before = _redis_cpu_s(client)
    calls_before = _redis_calls(client)
    children_before = _children_cpu_s()  # the workers are not reaped until they stop
    started = time.monotonic()
    scheduled = subprocess.run(
        cli_command("schedule"), env=env.full_env(), capture_output=True, text=True, timeout=600
    )
    schedule_cpu_s = _children_cpu_s() - children_before
    if scheduled.returncode != 0:
        raise SystemExit(f"schedule failed: {scheduled.stderr[-800:]}")
    scheduled_s = time.monotonic() - started
    deadline = started + 3600
    while _acked(client, pipeline_keys.CATEGORIZATION_STREAM, pipeline_keys.CATEGORIZE_GROUP) < n:
        if time.monotonic() > deadline:
            raise SystemExit("window did not finish within an hour")
        time.sleep(POLL_S)
    elapsed = time.monotonic() - started
    cpu_after = _cpu_by_part(env)
    cpu_after["redis"] = _redis_cpu_s(client) - redis_before
    calls_after = _redis_calls(client)
    cpu_after["schedule"] = schedule_cpu_s
    env.children.stop(names)
    answer = httpx.get(env.owm_url + "/__stats", headers=env.owm_admin_headers, timeout=10)
    answer.raise_for_status()
    stats: dict[str, Any] = answer.json()
    dead = sum(
        int(client.xlen(keys.dead_letter_stream(s)))
        for s in (pipeline_keys.INGESTION_STREAM, pipeline_keys.CATEGORIZATION_STREAM)
    )
    client.close()
    return {
        "elapsed_s": round(elapsed, 2),
        "schedule_s": round(scheduled_s, 2),
        "locations_per_s": round(n / elapsed, 1),
        "source_calls": stats.get("requests_by_endpoint", {}),
        "dead_letters": dead,
        "redis_calls_per_location": {
            name: round((count - calls_before.get(name, 0)) / n, 2)
            for name, count in sorted(calls_after.items(), key=lambda kv: -kv[1])
            if count - calls_before.get(name, 0) >= n / 100
        },
        "cpu_ms_per_location": {
            part: round(1000 * (cpu_after[part] - cpu_before.get(part, 0.0)) / n, 2)
            for part in CPU_PARTS + OTHER_PARTS
        },
    }


def next_window(client: redis.Redis) -> None:
    """Forget this window in Redis (streams, dedup and publish marks, cached answers)."""
    keep = fetch_keys.history_covered("").encode()
    doomed = [k for k in client.scan_iter(count=1000) if not k.startswith(keep)]
    for start in range(0, len(doomed), 1000):
        client.delete(*doomed[start : start + 1000])


def compile_bytecode() -> None:
    """Compile the project and its environment's modules, as the image build does."""
    for directory in [ROOT / p for p in PACKAGES] + [Path(p) for p in sys.path if "-packages" in p]:
        if directory.is_dir():
            compileall.compile_dir(directory, quiet=2, workers=0)


def main(argv: list[str]) -> None:
    source = "owm"
    if "--source" in argv:
        at = argv.index("--source")
        source = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
    n = int(argv[0]) if argv else 10_000
    compile_bytecode()
    # One fetch process: with its call slots (the demo's FETCH_CONCURRENCY, 256; 128 when this was
    # measured) and twice as many tasks in flight it keeps the mock busy alone, and on 2 cores a
    # second process only adds contention and per-process overhead (10,000 locations, steady
    # window, same run-up: 291.8 locations/s with one, 247.9 with two; CPU per location 6.49 ms
    # against 7.23 ms).
    fetch_workers = int(argv[1]) if len(argv) > 1 else 1
    categorize_workers = int(argv[2]) if len(argv) > 2 else 1
    with (
        tempfile.TemporaryDirectory(prefix="trail-etl-bench-") as directory,
        demo_environment(Path(directory), fault_rate=0.0, source=source) as env,
    ):
        if env.redis_kind == "REDIS_URL":
            raise SystemExit("unset REDIS_URL: the benchmark empties its Redis between windows")
        with httpx.Client(base_url=env.weather_url, timeout=60.0) as http:
            t0 = time.monotonic()
            seed_locations(http, n)
            seed_s = time.monotonic() - t0
        cold = run_window(env, n, fetch_workers, categorize_workers)
        next_window(redis.Redis.from_url(env.redis_url))
        steady = run_window(env, n, fetch_workers, categorize_workers)
    print(
        f"source: {source}, locations: {n}, fetch workers: {fetch_workers}, categorize workers: "
        f"{categorize_workers}, seeding {seed_s:.1f} s (not counted)"
    )
    for name, w in (("cold", cold), ("steady", steady)):
        print(
            f"{name:6s} window: {w['locations_per_s']} locations/s ({w['elapsed_s']} s, schedule "
            f"{w['schedule_s']} s); calls {w['source_calls']}; dead letters {w['dead_letters']}"
        )
        cpu = w["cpu_ms_per_location"]
        print(
            f"       CPU ms per location: {', '.join(f'{k} {v}' for k, v in cpu.items())}; "
            f"total {sum(cpu.values()):.2f} (2 cores: at most {2000 / sum(cpu.values()):.0f}/s)"
        )
        calls = w["redis_calls_per_location"]
        print(
            f"       Redis commands per location: {', '.join(f'{k} {v}' for k, v in calls.items())}"
        )
    mock = mock_owm_bench.run(seconds=5.0)
    print(f"mock_owm onecall alone: {mock['onecall_per_s']} requests/s (slowest phase)")


if __name__ == "__main__":
    main(sys.argv[1:])
