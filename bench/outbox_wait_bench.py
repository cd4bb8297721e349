"""The scheduler's publish rate with the outbox's replication WAIT on and off, in one run, against
a private master with one replica (two redis-servers on free ports, AOF on, as in production).

Each sample puts and flushes ``n`` tasks twice, WAIT off (``NO_WAIT``) and on (auto: the one
connected replica), alternating which goes first, each on fresh keys, in two shapes:

* ``chunked``: as ``trail-etl schedule`` runs, one put and one flush per chunk of
  ``LOCATIONS_CHUNK_SIZE`` (1,000) tasks, so one WAIT per chunk;
* ``bulk``: one put of all ``n`` and one flush (a run's leftovers), one WAIT per
  ``delete_every_rows`` (20,000).

Rates are tasks/s from the first put to the end of the last flush; the best of ``repeats`` samples
of each is reported (on a shared machine other processes only ever slow a measurement down), with
the cost of the WAIT as the relative change of the rate.

Run: ``uv run python bench/outbox_wait_bench.py [n] [repeats]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from outbox_bench import CODEC, BenchIngest, _clean

from etl_core.logging import configure_logging
from etl_core.outbox import SqliteOutbox
from etl_core.producer import StreamProducer
from etl_core.replication import NO_WAIT, ReplicationWait
from tests.support.sentinel import SentinelTopology

DEFAULT_N = 100_000
DEFAULT_REPEATS = 3
CHUNK_SIZE = 1_000  # services.schedule_jobs.settings.DEFAULT_CHUNK_SIZE
WAIT_ON = ReplicationWait()  # auto, the scheduler's default


def _flush_run(
    client: redis.Redis, n: int, policy: ReplicationWait, *, chunk: int, db_dir: Path
) -> tuple[float, int]:
    """Seconds to put and flush ``n`` tasks ``chunk`` at a time; WAITs sent."""
    run_id = uuid.uuid4().hex[:8]
    stream, window = f"bench:{run_id}:wait", f"bench-{run_id}"
    tasks = [BenchIngest(location_id=f"loc-{i:07d}", window=window) for i in range(n)]
    producer = StreamProducer(client, stream)
    waits = 0
    try:
        with SqliteOutbox(db_dir / f"{run_id}.db") as outbox:
            started = time.perf_counter()
            for i in range(0, n, chunk):
                outbox.put_tasks(stream, tasks[i : i + chunk], CODEC)
                report = outbox.flush(producer, replication=policy)
                waits += report.replication_waits
            elapsed = time.perf_counter() - started
        if client.xlen(stream) != n:
            raise RuntimeError(f"{stream}: expected {n} entries")
    finally:
        _clean(client, [stream])
    return elapsed, waits


def run(n: int = DEFAULT_N, repeats: int = DEFAULT_REPEATS) -> dict[str, Any]:
    topology = SentinelTopology(replicas=1, sentinels=0)
    try:
        topology.start()
        master = topology.data[0]
        client = master.client(timeout_s=30)
        if int(client.info("replication")["connected_slaves"]) != 1:
            raise RuntimeError("the replica is not connected")
        shapes: dict[str, Callable[[ReplicationWait, Path], tuple[float, int]]] = {
            "chunked": lambda p, d: _flush_run(client, n, p, chunk=CHUNK_SIZE, db_dir=d),
            "bulk": lambda p, d: _flush_run(client, n, p, chunk=n, db_dir=d),
        }
        result: dict[str, Any] = {"n": n, "repeats": repeats, "replicas": 1}
        with tempfile.TemporaryDirectory(prefix="outbox-wait-bench-") as tmp:
            db_dir = Path(tmp)
            for shape, measure in shapes.items():
                off: list[float] = []
                on: list[float] = []
                waits = 0
                for repeat in range(repeats):
                    order = [(NO_WAIT, off), (WAIT_ON, on)]
                    for policy, samples in order if repeat % 2 == 0 else order[::-1]:
                        seconds, sent = measure(policy, db_dir)
                        samples.append(seconds)
                        if policy is WAIT_ON:
                            waits = sent
                rate_off, rate_on = n / min(off), n / min(on)
                result[shape] = {
                    "wait_off_tasks_per_s": round(rate_off),
                    "wait_on_tasks_per_s": round(rate_on),
                    "change": round(rate_on / rate_off - 1, 3),
                    "waits_per_run": waits,
                    "samples_off_s": [round(s, 3) for s in off],
                    "samples_on_s": [round(s, 3) for s in on],
                }
                print(
                    f"{shape:>7}: WAIT off {rate_off:,.0f} tasks/s, on {rate_on:,.0f} tasks/s "
                    f"({rate_on / rate_off - 1:+.1%}; {waits} WAITs for {n:,} tasks)"
                )
        client.close()
    finally:
        topology.close()
    print(result)
    return result


if __name__ == "__main__":
    configure_logging(json=False, level="WARNING")
    run(
        int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_N,
        int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_REPEATS,
    )
