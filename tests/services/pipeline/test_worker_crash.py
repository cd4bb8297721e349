"""A fetch worker killed with SIGKILL mid-run: no task is lost, none is handed on twice, and the
answer cache keeps the OpenWeatherMap bill close to one onecall per location (real processes)."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from etl_core import keys
from services import pipeline_keys
from tests.services.conftest import SourceUnderTest
from tests.services.pipeline.process_support import (
    Pipeline,
    dead_letter_counts,
    drained,
    pending_count,
    redis_client,
    require_running,
    running_pipeline,
    wait_until,
)

LOCATIONS = 300
KILL_AFTER_CONDITIONS = 20
WORKER_ENV = {
    "WORKER_RECLAIM_IDLE_MS": "3000",
    "WORKER_HANDLER_TIMEOUT_S": "2",
    "WORKER_SHUTDOWN_GRACE_S": "5",
    "FETCH_CONCURRENCY": "8",
}


def test_sigkilled_fetch_worker_loses_no_task_and_pays_little_twice(
    tmp_path: Path, source: SourceUnderTest
) -> None:
    # A little latency keeps tasks in flight long enough for the kill to catch some.
    with running_pipeline(tmp_path, source=source, MOCK_OWM_LATENCY_MS="20") as pipeline:
        location_ids = pipeline.seed(LOCATIONS)
        env = pipeline.env(**WORKER_ENV)
        pipeline.schedule(env)
        client = redis_client(pipeline)
        try:
            assert client.xlen(pipeline_keys.INGESTION_STREAM) == LOCATIONS
            fetchers = [
                pipeline.start_worker(f"fetch-worker-{i}", "fetch-weather", env) for i in range(3)
            ]
            categorizer = pipeline.start_worker(
                "categorize-worker-0", "categorize-trail-conditions", env
            )
            victim = fetchers[0]
            wait_until(
                lambda: pipeline.conditions_count() >= KILL_AFTER_CONDITIONS,
                60,
                f"{KILL_AFTER_CONDITIONS} conditions",
                alive=require_running([*fetchers, categorizer], pipeline),
            )
            victim.kill()
            victim.wait(timeout=10)
            held = _held_by(client, victim.pid)
            done_at_kill = pipeline.conditions_count()
            assert done_at_kill < LOCATIONS - 100, "the kill came too late to mean anything"
            survivors = [*fetchers[1:], categorizer]
            wait_until(
                lambda: pipeline.conditions_count() >= done_at_kill + 30,
                60,
                "progress after the kill",
                alive=require_running(survivors, pipeline),
            )
            survivors.append(pipeline.start_worker("fetch-worker-3", "fetch-weather", env))
            wait_until(
                lambda: pipeline.conditions_count() >= LOCATIONS,
                75,
                f"{LOCATIONS} conditions",
                alive=require_running(survivors, pipeline),
            )
            # Stop each stage once it has nothing left: fetchers first, then the categorizer.
            alive = require_running(survivors, pipeline)
            wait_until(
                lambda: drained(client, pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP),
                30,
                "the fetch group to drain",
                alive=alive,
            )
            fetch_survivors = [p for p in survivors if p is not categorizer]
            _stop(fetch_survivors, pipeline)
            wait_until(
                lambda: drained(
                    client, pipeline_keys.CATEGORIZATION_STREAM, pipeline_keys.CATEGORIZE_GROUP
                ),
                30,
                "the categorize group to drain",
                alive=require_running([categorizer], pipeline),
            )
            _stop([categorizer], pipeline)

            assert pipeline.latest_condition_ids() == set(location_ids)
            assert pipeline.locations_without_weather(location_ids) == []
            assert (
                pending_count(client, pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP)
                == 0
            )
            assert (
                pending_count(
                    client, pipeline_keys.CATEGORIZATION_STREAM, pipeline_keys.CATEGORIZE_GROUP
                )
                == 0
            )
            assert client.zcard(keys.delayed_set(pipeline_keys.INGESTION_STREAM)) == 0
            assert client.zcard(keys.delayed_set(pipeline_keys.CATEGORIZATION_STREAM)) == 0
            assert dead_letter_counts(client) == {
                pipeline_keys.INGESTION_STREAM: 0,
                pipeline_keys.CATEGORIZATION_STREAM: 0,
            }
            # Every hand-off is an entry with attempts 0; a categorize retry (e.g. a handler
            # timeout) re-adds its task with attempts >= 1, which is not a second hand-off.
            entries: Any = client.xrange(pipeline_keys.CATEGORIZATION_STREAM)
            handed_off = [f["task_id"] for _id, f in entries if f["attempts"] == "0"]
            assert len(handed_off) == LOCATIONS, Counter(handed_off).most_common(3)
            assert len(set(handed_off)) == LOCATIONS
            retried = len(entries) - len(handed_off)
            # The task's own call (onecall, forecast): once per location, again at most for the
            # tasks the killed worker held.
            task_call = source.endpoints[0]
            onecalls = int(pipeline.owm_stats()["requests_by_endpoint"][task_call])
            print(
                f"killed worker held {held} tasks at {done_at_kill} conditions; "
                f"{task_call} requests: {onecalls}; categorize retries re-added: {retried}"
            )
            assert LOCATIONS <= onecalls <= LOCATIONS + held
        finally:
            client.close()


def _stop(procs: list[subprocess.Popen[bytes]], pipeline: Pipeline) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        assert proc.wait(timeout=30) == 0, pipeline.log_tail()


def _held_by(client: redis.Redis, pid: int) -> int:
    """Entries of the fetch group pending for the consumer of process ``pid``."""
    summary: Any = client.xpending(pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP)
    consumers = summary.get("consumers") or []
    return sum(int(c["pending"]) for c in consumers if f"-{pid}-" in str(c["name"]))
