"""A provider that misbehaves the way real ones do does not drain the pipeline into dead letters:
three fetch-worker processes with default settings, the mock at 20% 5xx, 5% 429 (one run with
``Retry-After``, one without) and 2% hung calls. Every location gets a condition, nothing is
pending or dead-lettered, and the shared breaker never even goes half-open (fewer than one call in
three fails, far below its failure-rate threshold).

How much longer a faulty run takes than a clean one is a speed figure, measured by
``bench/faulty_provider_bench.py``, not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from etl_core import keys
from services import pipeline_keys
from tests.services.conftest import SourceUnderTest
from tests.services.pipeline.process_support import (
    dead_letter_counts,
    drained,
    redis_client,
    require_running,
    run_locations_file,
    running_pipeline,
    seed_location_files,
    set_faults,
    wait_until,
)

LOCATIONS = 200
FETCH_WORKERS = 3
FAULTS: dict[str, Any] = {"error_rate": 0.20, "rate_429": 0.05, "timeout_rate": 0.02}
# Generous: a faulty run of 200 locations takes well under a minute on an idle laptop.
RUN_TIMEOUT_S = 600.0


@pytest.mark.slow
def test_a_faulty_provider_costs_time_not_tasks(tmp_path: Path, source: SourceUnderTest) -> None:
    with running_pipeline(tmp_path, source=source) as pipeline:
        files = seed_location_files(pipeline, 2 * LOCATIONS, LOCATIONS)
        env = pipeline.env()
        workers = [
            pipeline.start_worker(f"fetch-worker-{i}", "fetch-weather", env)
            for i in range(FETCH_WORKERS)
        ]
        workers.append(
            pipeline.start_worker("categorize-worker", "categorize-trail-conditions", env)
        )
        alive = require_running(workers, pipeline)

        set_faults(pipeline, **FAULTS, retry_after_s=1)
        run_locations_file(pipeline, env, files[0], LOCATIONS, RUN_TIMEOUT_S, alive)
        set_faults(pipeline, **FAULTS, retry_after_s=None)
        run_locations_file(pipeline, env, files[1], 2 * LOCATIONS, RUN_TIMEOUT_S, alive)

        stats = pipeline.owm_stats()
        faults_seen = stats["status_codes"]
        assert int(faults_seen.get("429", 0)) > 0 and any(c.startswith("5") for c in faults_seen)
        expected = {
            str(json.loads(line)["id"]) for file in files for line in file.read_text().splitlines()
        }
        assert pipeline.latest_condition_ids() == expected
        client = redis_client(pipeline)
        try:
            for stream, group in (
                (pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP),
                (pipeline_keys.CATEGORIZATION_STREAM, pipeline_keys.CATEGORIZE_GROUP),
            ):
                wait_until(lambda s=stream, g=group: drained(client, s, g), 60, f"{group} drained")
            assert dead_letter_counts(client) == {
                pipeline_keys.INGESTION_STREAM: 0,
                pipeline_keys.CATEGORIZATION_STREAM: 0,
            }
            assert not client.exists(keys.stage_pause(pipeline_keys.FETCH_GROUP))
        finally:
            client.close()
        for i in range(FETCH_WORKERS):
            log = (tmp_path / f"fetch-worker-{i}.log").read_text(errors="replace")
            assert "breaker_state_changed" not in log, log[-3000:]  # not even half-open
