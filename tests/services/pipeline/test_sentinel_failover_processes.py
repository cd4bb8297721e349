"""The pipeline's processes across a Sentinel failover (real processes; a master, a replica and
three sentinels): ``trail-etl schedule`` and the workers get ``REDIS_URL=redis+sentinel://...``;
the master is SIGKILLed mid-run and the sentinels promote the replica. Every location ends with a
condition, nothing is pending or dead-lettered, no worker exits, and OpenWeatherMap is paid at
most once per task plus once per task in flight at the kill. The old master then comes back as a
replica of the new one: no process talks to it, the workers go on with a second batch, and
``trail-etl status`` answers from the new master."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from services import pipeline_keys
from services.demo.environment import Children, cli_command, start_services
from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN
from tests.services.pipeline.process_support import (
    Pipeline,
    dead_letter_counts,
    drained,
    pending_count,
    require_running,
    run_locations_file,
    seed_location_files,
    wait_until,
    worker_totals,
)
from tests.support.redis_server import redis_server_binary, require_or_skip
from tests.support.sentinel import SentinelTopology

pytestmark = [pytest.mark.redis_real, pytest.mark.slow]

FIRST_BATCH = 500
SECOND_BATCH = 50
KILL_AT_CONDITIONS = 100
CALLS_PER_TASK = 4  # a location without history: a onecall and three day_summary calls
# Generous bounds for the work, never a speed figure: the run takes seconds on a laptop.
RUN_TIMEOUT_S = 240.0
# The default handler timeout and reclaim: a handler's command in flight at the kill waits out
# the failover (about 3 s) inside the client's retry, and an entry whose settle the failover lost
# comes back to its own, live consumer (take_back_lost), not through the reclaim.
WORKER_ENV = {"FETCH_CONCURRENCY": "4"}
WORKERS = ("fetch-worker-0", "fetch-worker-1", "categorize-worker-0")


class _SentinelAddress:
    """What ``Pipeline`` takes of its Redis: the URL the processes get."""

    def __init__(self, topology: SentinelTopology) -> None:
        self.url = topology.sentinel_url(0)


@contextmanager
def _running_pipeline(
    work_dir: Path, **mock_env: str
) -> Iterator[tuple[Pipeline, SentinelTopology]]:
    require_or_skip("redis-server", redis_server_binary() is not None)
    # A short failover timeout: the sentinels may fail the same master over again soon after.
    topology = SentinelTopology(replicas=1, failover_timeout_ms=2000)
    children = Children(work_dir)
    try:
        topology.start()
        owm_url, weather_url = start_services(
            children, work_dir, owm_admin_token=ADMIN_TOKEN, mock_env=mock_env
        )
        pipeline = Pipeline(
            _SentinelAddress(topology),  # type: ignore[arg-type]
            children,
            weather_url,
            owm_url,
            work_dir,
            ADMIN_HEADERS,
        )
        yield pipeline, topology
    finally:
        children.stop(timeout_s=30.0)
        topology.close()


def _client(port: int) -> redis.Redis:
    return redis.Redis(port=port, decode_responses=True, socket_timeout=10.0)


def _master(topology: SentinelTopology) -> redis.Redis:
    """A plain client of whichever node the sentinels name as master now."""
    return _client(topology.master_address()[1])


def _fetch_pending(port: int) -> int:
    client = _client(port)
    try:
        return pending_count(client, pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP)
    finally:
        client.close()


def _others_connected(port: int) -> list[str]:
    """The connections of the node at ``port`` other than the sentinels' and this one's."""
    client = _client(port)
    try:
        clients: Any = client.client_list()
        return [
            " ".join(f"{k}={v}" for k, v in c.items())
            for c in clients
            if not c["name"].startswith("sentinel-")
            and "M" not in c["flags"]  # its link to the master it replicates
            and c["cmd"] != "client|list"
        ]
    finally:
        client.close()


def test_a_master_killed_mid_run_costs_no_task_and_no_worker(tmp_path: Path) -> None:
    # Latency keeps the run going long enough for the kill to land mid-run.
    with _running_pipeline(tmp_path, MOCK_OWM_LATENCY_MS="100") as (pipeline, topology):
        first, second = seed_location_files(pipeline, FIRST_BATCH + SECOND_BATCH, FIRST_BATCH)
        env = pipeline.env(**WORKER_ENV)
        pipeline.schedule({**env, "LOCATIONS_FILE": str(first)})
        workers = [
            pipeline.start_worker(
                name,
                "fetch-weather" if name.startswith("fetch") else "categorize-trail-conditions",
                env,
            )
            for name in WORKERS
        ]
        alive = require_running(workers, pipeline)
        wait_until(
            lambda: pipeline.conditions_count() >= KILL_AT_CONDITIONS,
            RUN_TIMEOUT_S,
            f"{KILL_AT_CONDITIONS} conditions",
            alive=alive,
        )

        old = topology.master()
        (replica,) = topology.replicas()
        held_by_master = _fetch_pending(old.port)
        old.kill()
        # The replica's copy, frozen until its promotion, is what the new master starts from.
        held_by_replica = _fetch_pending(replica.port)
        in_flight = held_by_master + held_by_replica
        assert pipeline.conditions_count() < FIRST_BATCH, "the kill came too late"
        topology.wait_for_new_master(old)
        assert topology.master() is replica

        wait_until(
            lambda: pipeline.conditions_count() >= FIRST_BATCH,
            RUN_TIMEOUT_S,
            f"{FIRST_BATCH} conditions",
            alive=alive,
        )

        topology.restart(old)
        topology.wait_replica_of_master(old)
        # New work after the old master is back: nothing stays stuck on it.
        run_locations_file(pipeline, env, second, FIRST_BATCH + SECOND_BATCH, RUN_TIMEOUT_S, alive)
        assert _others_connected(old.port) == []

        client = _master(topology)
        try:
            for stream, group in (
                (pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP),
                (pipeline_keys.CATEGORIZATION_STREAM, pipeline_keys.CATEGORIZE_GROUP),
            ):
                wait_until(
                    lambda s=stream, g=group: drained(client, s, g),
                    RUN_TIMEOUT_S,
                    f"{group} drained",
                    alive=alive,
                )
            assert dead_letter_counts(client) == {
                pipeline_keys.INGESTION_STREAM: 0,
                pipeline_keys.CATEGORIZATION_STREAM: 0,
            }
            status = subprocess.run(
                cli_command("status", "--json"),
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert status.returncode == 0, status.stderr
            streams = {s["name"]: s for s in json.loads(status.stdout)["streams"]}
            assert streams[pipeline_keys.INGESTION_STREAM]["length"] == client.xlen(
                pipeline_keys.INGESTION_STREAM
            )
        finally:
            client.close()

        alive()
        for proc in workers:
            proc.terminate()
        for proc in workers:
            assert proc.wait(timeout=60) == 0, pipeline.log_tail()
        for name in WORKERS:
            totals = worker_totals(pipeline, name)
            # Commands in flight during the failover were retried by the client, or the task
            # waited (RedisUnavailable, no attempt spent): none failed.
            spent = {k: totals[k] for k in ("retried", "dead_lettered")}
            assert spent == dict.fromkeys(spent, 0), (name, totals, pipeline.log_tail())
        expected = {
            str(json.loads(line)["id"])
            for file in (first, second)
            for line in file.read_text().splitlines()
        }
        assert pipeline.latest_condition_ids() == expected
        stats = pipeline.owm_stats()
        onecalls, paid = int(stats["requests_by_endpoint"]["onecall"]), int(stats["requests_total"])
        tasks = FIRST_BATCH + SECOND_BATCH
        assert tasks <= onecalls <= tasks + in_flight, (stats, in_flight)
        assert paid <= CALLS_PER_TASK * (tasks + in_flight), (stats, in_flight)
