"""The pipeline's worker processes across two SIGKILLs of redis-server, each restarted at once from
its append-only file mid-run: no handler fails, no attempt is spent, every location gets its
condition and every task is handed on exactly once (real processes)."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from services import pipeline_keys
from tests.services.pipeline.process_support import (
    Pipeline,
    dead_letter_counts,
    drained,
    redis_client,
    require_running,
    running_pipeline,
    wait_until,
    worker_totals,
)

LOCATIONS = 120
RESTART_AT_CONDITIONS = (20, 60)
WORKER_ENV = {
    "FETCH_CONCURRENCY": "4",
    "WORKER_TRIM_INTERVAL_S": "0",  # every entry stays, to be counted at the end
}
WORKERS = ("fetch-worker", "categorize-worker")


def test_redis_restarts_mid_run_fail_no_handler_and_spend_no_attempt(tmp_path: Path) -> None:
    # Latency keeps the run going long enough for both restarts to land mid-run.
    with running_pipeline(tmp_path, appendonly=True, MOCK_OWM_LATENCY_MS="50") as pipeline:
        location_ids = pipeline.seed(LOCATIONS)
        env = pipeline.env(**WORKER_ENV)
        pipeline.schedule(env)
        client = redis_client(pipeline)
        try:
            procs = [
                pipeline.start_worker("fetch-worker", "fetch-weather", env),
                pipeline.start_worker("categorize-worker", "categorize-trail-conditions", env),
            ]
            alive = require_running(procs, pipeline)
            for threshold in RESTART_AT_CONDITIONS:
                wait_until(
                    lambda t=threshold: pipeline.conditions_count() >= t,
                    60,
                    f"{threshold} conditions",
                    alive=alive,
                )
                pipeline.redis.kill()
                pipeline.redis.start()
            assert pipeline.conditions_count() < LOCATIONS, "the restarts came too late"
            wait_until(
                lambda: (
                    drained(client, pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP)
                    and drained(
                        client, pipeline_keys.CATEGORIZATION_STREAM, pipeline_keys.CATEGORIZE_GROUP
                    )
                    and pipeline.conditions_count() >= LOCATIONS
                ),
                90,
                "both groups to drain",
                alive=alive,
            )
            _stop(procs, pipeline)

            for name in WORKERS:
                totals = worker_totals(pipeline, name)
                spent = {k: totals[k] for k in ("retried", "waited", "dead_lettered", "reclaimed")}
                assert spent == dict.fromkeys(spent, 0), (name, totals, pipeline.log_tail())
            assert "handler_crashed" not in pipeline.log_tail(chars=10**7)
            assert pipeline.latest_condition_ids() == set(location_ids)
            assert dead_letter_counts(client) == {
                pipeline_keys.INGESTION_STREAM: 0,
                pipeline_keys.CATEGORIZATION_STREAM: 0,
            }
            for stream in (pipeline_keys.INGESTION_STREAM, pipeline_keys.CATEGORIZATION_STREAM):
                entries: Any = client.xrange(stream)
                task_ids = Counter(f["task_id"] for _id, f in entries)
                assert len(task_ids) == LOCATIONS, stream
                assert task_ids.most_common(1)[0][1] == 1, (stream, task_ids.most_common(3))
                assert {f["attempts"] for _id, f in entries} == {"0"}, stream
        finally:
            client.close()


def _stop(procs: list[subprocess.Popen[bytes]], pipeline: Pipeline) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        assert proc.wait(timeout=30) == 0, pipeline.log_tail()
