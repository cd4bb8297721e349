"""One fetch-weather process against a slow OpenWeatherMap: mock latency 200 ms, no rate limit.

Target in the issue: one fetch worker process sustains >= 90% of (its concurrency / 0.2 s) tasks/s.
Its concurrency is ``--concurrency`` (FETCH_CONCURRENCY): the OWM calls it keeps in flight. A task
in steady state makes one onecall (200 ms), so that is the bound. The process holds up to
FETCH_MAX_IN_FLIGHT tasks (default twice the calls): what a task does besides its call (Redis, the
weather-service upsert) runs while the next task's call already holds the call slot. Run with
FETCH_MAX_IN_FLIGHT equal to the concurrency to see the figure when every task keeps its call slot
until it is settled (everything else then has to fit in the remaining 10%). The first window is also
reported: a new location makes its onecall, then its three day_summary calls one after another
(four calls' latency), so its bound is a quarter of that.

Each window is timed from the first task in the stream (the worker already reading) to the last
ingestion task acknowledged. Between windows Redis forgets the window (pipeline_bench).

Run: uv run python bench/fetch_latency_bench.py [locations] [concurrency] [latency_ms]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
import redis  # noqa: E402
from pipeline_bench import POLL_S, _acked, _live, next_window  # noqa: E402

from services import pipeline_keys  # noqa: E402
from services.demo.environment import (  # noqa: E402
    Environment,
    cli_command,
    demo_environment,
    free_port,
)
from services.demo.run import seed_locations  # noqa: E402


def run_window(env: Environment, n: int, concurrency: int) -> tuple[float, float]:
    """Tasks per second of one window, and the mean handler time in ms (worker metrics)."""
    client = redis.Redis.from_url(env.redis_url)
    worker = cli_command("worker", "fetch-weather", "--concurrency", str(concurrency))
    port = free_port()
    env.children.start("fetch-worker-0", worker, {**env.pipeline_env(), "METRICS_PORT": str(port)})
    deadline = time.monotonic() + 120
    while _live(client, pipeline_keys.FETCH_GROUP) < 1:
        if time.monotonic() > deadline:
            raise SystemExit("the fetch worker did not start within 120 s")
        time.sleep(POLL_S)
    scheduler = subprocess.Popen(
        cli_command("schedule"), env=env.full_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    while (
        not client.xlen(pipeline_keys.INGESTION_STREAM)
        if client.exists(pipeline_keys.INGESTION_STREAM)
        else True
    ):
        if scheduler.poll() not in (None, 0):
            raise SystemExit(f"schedule failed: {scheduler.communicate()[1][-800:]!r}")
        time.sleep(0.005)
    started = time.monotonic()  # the first task is in the stream
    while _acked(client, pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP) < n:
        if time.monotonic() > started + 3600:
            raise SystemExit("window did not finish within an hour")
        time.sleep(POLL_S)
    elapsed = time.monotonic() - started
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    sums = {
        line.split("{")[0].rsplit("_", 1)[1]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("trail_etl_worker_handler_duration_seconds_")
        and line.split("{")[0].endswith(("_sum", "_count"))
    }
    if scheduler.wait(timeout=60) != 0:
        raise SystemExit(f"schedule failed: {scheduler.communicate()[1][-800:]!r}")
    env.children.stop({"fetch-worker-0"})
    client.close()
    return n / elapsed, 1000 * sums["sum"] / max(1.0, sums["count"])


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 2000
    concurrency = int(argv[1]) if len(argv) > 1 else 16
    latency_ms = int(argv[2]) if len(argv) > 2 else 200
    bound = concurrency / (latency_ms / 1000)
    with (
        tempfile.TemporaryDirectory(prefix="trail-etl-bench-") as directory,
        demo_environment(
            Path(directory), fault_rate=0.0, mock_env={"MOCK_OWM_LATENCY_MS": str(latency_ms)}
        ) as env,
    ):
        if env.redis_kind == "REDIS_URL":
            raise SystemExit("unset REDIS_URL: the benchmark empties its Redis between windows")
        with httpx.Client(base_url=env.weather_url, timeout=60.0) as http:
            seed_locations(http, n)
        cold = run_window(env, n, concurrency)
        next_window(redis.Redis.from_url(env.redis_url))
        steady = run_window(env, n, concurrency)
    in_flight = os.environ.get("FETCH_MAX_IN_FLIGHT") or f"{2 * concurrency} (default)"
    print(
        f"one fetch worker, concurrency {concurrency} OWM calls, tasks in flight {in_flight}, "
        f"mock latency {latency_ms} ms, {n} locations; "
        f"bound concurrency/latency = {bound:.1f} tasks/s"
    )
    print(
        f"steady window: {steady[0]:.1f} tasks/s = {100 * steady[0] / bound:.1f}% of the bound; "
        f"mean handler {steady[1]:.1f} ms"
    )
    print(
        f"cold window:   {cold[0]:.1f} tasks/s = {100 * cold[0] / (bound / 4):.1f}% of its bound "
        f"({bound / 4:.1f}: onecall, then 3 day_summary); mean handler {cold[1]:.1f} ms"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
