"""End-to-end pipeline throughput: locations per second from the start of scheduling to the last
condition written, on the demo's set-up (mock OWM at zero latency, no rate limit, SQLite weather
service, private redis-server), and beside it the mock's own onecall requests/s measured alone in
the same run (the ceiling).

Every location is new here, so each costs one onecall plus three day_summary calls (its missing
history): four paid calls per location. A steady-state run, with history stored, costs one.

Run: uv run python bench/pipeline_bench.py [locations] [fetch_workers] [categorize_workers]
(target in the issue: >= 300 locations/s for 10,000 locations on 2 cores)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import mock_owm_bench  # noqa: E402
from rich.console import Console  # noqa: E402

from services.demo.environment import demo_environment  # noqa: E402
from services.demo.run import DemoOptions, run_demo  # noqa: E402


def main(argv: list[str]) -> None:
    locations = int(argv[0]) if argv else 10_000
    fetch_workers = int(argv[1]) if len(argv) > 1 else 2
    categorize_workers = int(argv[2]) if len(argv) > 2 else 1
    console = Console(quiet=True)
    options = DemoOptions(locations, fetch_workers, categorize_workers, 0.0, timeout_s=3600.0)
    with (
        tempfile.TemporaryDirectory(prefix="trail-etl-bench-") as directory,
        demo_environment(Path(directory), fault_rate=0.0) as env,
    ):
        result = run_demo(env, options, console)
    mock = mock_owm_bench.run(seconds=5.0)
    s = result.summary
    print(
        f"locations: {locations}, fetch workers: {fetch_workers}, categorize workers: "
        f"{categorize_workers}, all labelled: {result.ok}"
    )
    print(
        f"pipeline: {s['locations_per_s']} locations/s ({s['elapsed_s']} s, seeding included); "
        f"OWM calls {s['owm_calls']} {s['owm_calls_by_endpoint']}; dead letters {s['dead_letters']}"
    )
    print(f"mock_owm onecall alone: {mock['onecall_per_s']} requests/s (slowest phase)")


if __name__ == "__main__":
    main(sys.argv[1:])
