"""Outbox throughput against raw pipelined XADD, measured in one run on one real Redis.

1. raw: pipelined XADD of task entries already encoded by ``TaskCodec``, 500 per round trip
   (entries/s);
2. outbox: ``put_tasks`` of ``n`` real ``ScheduledTask``s into a fresh SQLite outbox (WAL,
   synchronous=FULL), encoding each with ``TaskCodec`` inside the timing, then ``flush`` to the
   stream; tasks/s from the start of the put to the end of the flush.

Both sides get their task objects built before their timer starts (building them is the
scheduler's work with or without an outbox); the raw side even gets its fields pre-encoded. The
rate counting the time to build the tasks is reported too.

Each measurement is repeated (alternating raw and outbox, on fresh keys) and the best of each is
reported: on a shared machine other processes only ever slow a measurement down. The CPU time spent
per entry by this process and by redis-server is reported as well; unlike wall time, it hardly
depends on what else the machine is doing. The target is an outbox rate of at least half the raw
rate. Without ``redis_url`` a private redis-server is started on a free port.

Run: ``uv run python bench/outbox_bench.py [n] [redis_url]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from etl_core import keys
from etl_core.logging import configure_logging
from etl_core.outbox import SqliteOutbox
from etl_core.producer import StreamProducer
from etl_core.task import ScheduledTask, TaskCodec
from tests.support.redis_server import RedisServer

DEFAULT_N = 200_000
DEFAULT_REPEATS = 3
RAW_BATCH_SIZE = 500
TARGET_RATIO = 0.5
DELETE_BATCH_SIZE = 5_000


class BenchIngest(ScheduledTask):
    task_type = "bench.ingest"


CODEC = TaskCodec([BenchIngest])


@dataclass(frozen=True)
class Sample:
    """One raw and one outbox measurement of ``n`` entries."""

    n: int
    raw_s: float
    raw_client_cpu_s: float
    raw_server_cpu_s: float
    build_s: float
    put_s: float
    flush_s: float
    outbox_client_cpu_s: float
    outbox_server_cpu_s: float

    @property
    def raw_per_s(self) -> float:
        return self.n / self.raw_s

    @property
    def outbox_per_s(self) -> float:
        return self.n / (self.put_s + self.flush_s)

    def summary(self) -> dict[str, Any]:
        per_entry_us = 1e6 / self.n
        return {
            "raw_per_s": round(self.raw_per_s),
            "outbox_per_s": round(self.outbox_per_s),
            "build_s": round(self.build_s, 3),
            "put_s": round(self.put_s, 3),
            "flush_s": round(self.flush_s, 3),
            "raw_cpu_us_per_entry": {
                "client": round(self.raw_client_cpu_s * per_entry_us, 2),
                "redis": round(self.raw_server_cpu_s * per_entry_us, 2),
            },
            "outbox_cpu_us_per_task": {
                "client": round(self.outbox_client_cpu_s * per_entry_us, 2),
                "redis": round(self.outbox_server_cpu_s * per_entry_us, 2),
            },
        }


def _tasks(n: int, window: str) -> Iterator[BenchIngest]:
    for i in range(n):
        yield BenchIngest(location_id=f"loc-{i:07d}", window=window)


def _server_cpu_s(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _raw(client: redis.Redis, stream: str, n: int, window: str) -> tuple[float, float, float]:
    """Seconds, client CPU seconds and server CPU seconds of pipelined XADD of ``n`` entries."""
    entries = [CODEC.encode(task) for task in _tasks(n, window)]
    server_cpu = _server_cpu_s(client)
    client_cpu = time.process_time()
    started = time.perf_counter()
    for i in range(0, n, RAW_BATCH_SIZE):
        pipe = client.pipeline(transaction=False)
        for fields in entries[i : i + RAW_BATCH_SIZE]:
            pipe.xadd(stream, fields)  # type: ignore[arg-type]
        pipe.execute()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = _server_cpu_s(client) - server_cpu
    if client.xlen(stream) != n:
        raise RuntimeError(f"raw XADD: expected {n} entries in {stream}")
    return elapsed, client_cpu, server_cpu


def _outbox(
    client: redis.Redis, stream: str, n: int, window: str, db_dir: Path
) -> tuple[float, float, float, float, float]:
    """Seconds to build, put and flush ``n`` tasks, then client and server CPU seconds."""
    producer = StreamProducer(client, stream)
    with SqliteOutbox(db_dir / "outbox.db") as outbox:
        building = time.perf_counter()
        tasks = list(_tasks(n, window))
        server_cpu = _server_cpu_s(client)
        client_cpu = time.process_time()
        started = time.perf_counter()
        added = outbox.put_tasks(stream, tasks, CODEC)
        put_done = time.perf_counter()
        report = outbox.flush(producer)
        finished = time.perf_counter()
        client_cpu = time.process_time() - client_cpu
        server_cpu = _server_cpu_s(client) - server_cpu
        left = outbox.pending_count()
    if added != n or report.published != n or left != 0 or client.xlen(stream) != n:
        raise RuntimeError(f"outbox: added={added} published={report.published} left={left}")
    return started - building, put_done - started, finished - put_done, client_cpu, server_cpu


def _clean(client: redis.Redis, streams: list[str]) -> None:
    client.delete(*streams)
    for stream in streams:
        batch: list[Any] = []
        for key in client.scan_iter(match=keys.published_marker_prefix(stream) + "*", count=1000):
            batch.append(key)
            if len(batch) >= DELETE_BATCH_SIZE:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)


def _sample(client: redis.Redis, n: int) -> Sample:
    run_id = uuid.uuid4().hex[:8]
    raw_stream, outbox_stream = f"bench:{run_id}:raw", f"bench:{run_id}:outbox"
    window = f"bench-{run_id}"
    try:
        raw_s, raw_client_cpu, raw_server_cpu = _raw(client, raw_stream, n, window)
        with tempfile.TemporaryDirectory(prefix="outbox-bench-") as db_dir:
            build_s, put_s, flush_s, client_cpu, server_cpu = _outbox(
                client, outbox_stream, n, window, Path(db_dir)
            )
    finally:
        _clean(client, [raw_stream, outbox_stream])
    return Sample(
        n, raw_s, raw_client_cpu, raw_server_cpu, build_s, put_s, flush_s, client_cpu, server_cpu
    )


def run(
    n: int = DEFAULT_N, redis_url: str | None = None, *, repeats: int = DEFAULT_REPEATS
) -> dict[str, Any]:
    """Measure both rates ``repeats`` times, alternating; print and return the best of each."""
    server: RedisServer | None = None
    if redis_url is None:
        server = RedisServer()
        server.start()
        redis_url = server.url
    client = redis.Redis.from_url(redis_url)
    try:
        samples = [_sample(client, n) for _ in range(repeats)]
    finally:
        client.close()
        if server is not None:
            server.close()
    best_raw = max(samples, key=lambda s: s.raw_per_s)
    best_outbox = max(samples, key=lambda s: s.outbox_per_s)
    ratio = best_outbox.outbox_per_s / best_raw.raw_per_s
    with_build = max(n / (s.build_s + s.put_s + s.flush_s) for s in samples)
    raw_cpu = min(s.raw_client_cpu_s + s.raw_server_cpu_s for s in samples)
    outbox_cpu = min(s.outbox_client_cpu_s + s.outbox_server_cpu_s for s in samples)
    result = {
        "n": n,
        "repeats": repeats,
        "raw_xadd_entries_per_s": round(best_raw.raw_per_s),
        "outbox_put_flush_tasks_per_s": round(best_outbox.outbox_per_s),
        "outbox_put_s": round(best_outbox.put_s, 3),
        "outbox_flush_s": round(best_outbox.flush_s, 3),
        "ratio": round(ratio, 3),
        "outbox_with_task_build_tasks_per_s": round(with_build),
        "ratio_with_task_build": round(with_build / best_raw.raw_per_s, 3),
        "cpu_ratio": round(raw_cpu / outbox_cpu, 3),
        "samples": [s.summary() for s in samples],
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    print(f"raw pipelined XADD (batches of {RAW_BATCH_SIZE}): {best_raw.raw_per_s:,.0f} entries/s")
    print(
        f"outbox put+flush of {n:,} tasks: {best_outbox.outbox_per_s:,.0f} tasks/s "
        f"(put {best_outbox.put_s:.2f} s, flush {best_outbox.flush_s:.2f} s)"
    )
    print(f"ratio: {ratio:.2f} (target >= {TARGET_RATIO})")
    print(
        f"counting the time to build the task objects too: {with_build:,.0f} tasks/s, "
        f"ratio {with_build / best_raw.raw_per_s:.2f}"
    )
    print(
        f"CPU (client + redis) per entry: raw {raw_cpu / n * 1e6:.1f} us, outbox "
        f"{outbox_cpu / n * 1e6:.1f} us, ratio {raw_cpu / outbox_cpu:.2f}"
    )
    for number, sample in enumerate(result["samples"], start=1):
        print(f"  sample {number}: {sample}")
    return result


if __name__ == "__main__":
    configure_logging(json=False, level="WARNING")
    run(
        int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_N,
        sys.argv[2] if len(sys.argv) > 2 else None,
    )
