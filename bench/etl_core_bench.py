"""etl_core in one run on one machine: raw pipelined XADD, outbox put+flush, worker runtime.

Targets (issue: etl_core): outbox put+flush of 200,000 tasks >= 50% of the raw pipelined XADD
rate measured in the same run; the worker runtime with a no-op handler >= 20,000 tasks/s in one
process. Starts a private redis-server on a free port (needs the binary on PATH).

Run: uv run python bench/etl_core_bench.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import outbox_bench  # noqa: E402
import worker_bench  # noqa: E402

from etl_core.logging import configure_logging  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402


def main() -> None:
    configure_logging(json=False, level="WARNING")
    server = RedisServer()
    server.start()
    try:
        outbox = outbox_bench.run(redis_url=server.url)
        worker = worker_bench.run(100_000, server.url)
    finally:
        server.close()
    raw, put_flush = outbox["raw_xadd_entries_per_s"], outbox["outbox_put_flush_tasks_per_s"]
    print("\nsummary")
    print(f"raw pipelined XADD (batches of 500):   {raw:>10,.0f} entries/s")
    print(
        f"outbox put+flush (200,000 tasks):      {put_flush:>10,.0f} tasks/s  "
        f"= {put_flush / raw:.2f} of raw (target >= 0.50)"
    )
    for name, value in worker.items():
        print(f"{name + ':':38} {value:>10,.0f} tasks/s  (target >= 20,000)")


if __name__ == "__main__":
    main()
