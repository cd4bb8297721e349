"""How much a misbehaving provider slows the pipeline: the same number of fresh locations run
three times through three fetch-worker processes and one categorize worker (default settings,
private redis-server, mock OWM, SQLite weather service), once with a clean mock, then with the
mock at 20% 5xx, 5% 429 and 2% hung calls, first with ``Retry-After: 1`` on its 429s and then
without. Each run is timed from ``trail-etl schedule`` to its last condition.

Target (issue 12): each faulty run takes at most 3x the clean one. The behaviour itself (nothing
lost, nothing dead-lettered, the breaker stays closed) is a test:
tests/services/pipeline/test_faulty_provider_processes.py.

Run: uv run python bench/faulty_provider_bench.py [locations=500]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from tests.services.pipeline.process_support import (  # noqa: E402
    require_running,
    run_locations_file,
    running_pipeline,
    seed_location_files,
    set_faults,
)

FETCH_WORKERS = 3
FAULTS = {"error_rate": 0.20, "rate_429": 0.05, "timeout_rate": 0.02}
TARGET_SLOWDOWN = 3.0
RUN_TIMEOUT_S = 1800.0


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 500
    with tempfile.TemporaryDirectory() as directory, running_pipeline(Path(directory)) as pipeline:
        files = seed_location_files(pipeline, 3 * n, n)
        env = pipeline.env()
        workers = [
            pipeline.start_worker(f"fetch-worker-{i}", "fetch-weather", env)
            for i in range(FETCH_WORKERS)
        ]
        workers.append(
            pipeline.start_worker("categorize-worker", "categorize-trail-conditions", env)
        )
        alive = require_running(workers, pipeline)
        runs = {}
        runs["clean"] = run_locations_file(pipeline, env, files[0], n, RUN_TIMEOUT_S, alive)
        set_faults(pipeline, **FAULTS, retry_after_s=1)
        runs["faults, Retry-After 1 s"] = run_locations_file(
            pipeline, env, files[1], 2 * n, RUN_TIMEOUT_S, alive
        )
        set_faults(pipeline, **FAULTS, retry_after_s=None)
        runs["faults, no Retry-After"] = run_locations_file(
            pipeline, env, files[2], 3 * n, RUN_TIMEOUT_S, alive
        )
        codes = pipeline.owm_stats()["status_codes"]
    clean_s = runs["clean"]
    print(f"{n} locations, {FETCH_WORKERS} fetch workers; mock status codes {codes}")
    worst = 0.0
    for name, seconds in runs.items():
        ratio = seconds / clean_s
        worst = max(worst, ratio)
        print(f"  {name:<24} {seconds:7.1f} s  {n / seconds:6.1f} loc/s  {ratio:4.2f}x clean")
    verdict = "within" if worst <= TARGET_SLOWDOWN else "OVER"
    print(f"worst slowdown {worst:.2f}x: {verdict} the {TARGET_SLOWDOWN:.0f}x target")
    return 0 if worst <= TARGET_SLOWDOWN else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
