"""``trail-etl pause`` / ``resume`` across two fetch-worker processes: while paused neither reads
a task nor makes a call, both say so on ``/readyz``, and the work goes on after ``resume``."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from services import pipeline_keys
from services.demo.environment import cli_command
from tests.services.pipeline.process_support import (
    dead_letter_counts,
    drained,
    redis_client,
    require_running,
    running_pipeline,
    wait_until,
)
from tests.support.redis_server import free_port

LOCATIONS = 8
PAUSE_POLLS_OBSERVED = 3  # pause polls (WorkerOptions.pause_poll_ms, 1 s) watched with no read


def trail_etl(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        cli_command(*args), env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def readyz(port: int) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5.0)
    except httpx.TransportError:
        return None  # not listening yet


def test_pause_and_resume_hold_every_replica(tmp_path: Path) -> None:
    with running_pipeline(tmp_path) as pipeline:
        pipeline.seed(LOCATIONS)
        env = pipeline.env()
        said = trail_etl(env, "pause", "fetch-weather", "--reason", "provider incident")
        assert "paused fetch-weather (manual): provider incident" in " ".join(said.split())
        ports = [free_port(), free_port()]
        workers = [
            pipeline.start_worker(
                f"fetch-worker-{i}",
                "fetch-weather",
                {**env, "METRICS_PORT": str(port), "METRICS_HOST": "127.0.0.1"},
            )
            for i, port in enumerate(ports)
        ]
        alive = require_running(workers, pipeline)

        def both_say_paused() -> bool:
            answers = [readyz(port) for port in ports]
            return all(
                a is not None and a.status_code == 503 and "provider incident" in a.text
                for a in answers
            )

        wait_until(both_say_paused, 60, "both replicas to report the pause", alive=alive)
        pipeline.schedule(env)
        client = redis_client(pipeline)
        try:
            watched_until = time.monotonic() + PAUSE_POLLS_OBSERVED * 1.0
            while time.monotonic() < watched_until:
                groups = client.xinfo_groups(pipeline_keys.INGESTION_STREAM)
                (group,) = [g for g in groups if g["name"] == pipeline_keys.FETCH_GROUP]
                assert group["pending"] == 0 and group["lag"] == LOCATIONS
                assert pipeline.owm_stats()["requests_total"] == 0
                alive()
                time.sleep(0.2)
            status = trail_etl(env, "status", "--json")
            assert '"paused": true' in status and '"source": "manual"' in status

            assert "resumed fetch-weather" in trail_etl(env, "resume", "fetch-weather")
            wait_until(
                lambda: drained(client, pipeline_keys.INGESTION_STREAM, pipeline_keys.FETCH_GROUP),
                90,
                "every task fetched after resume",
                alive=alive,
            )
            assert dead_letter_counts(client)[pipeline_keys.INGESTION_STREAM] == 0
            assert client.xlen(pipeline_keys.CATEGORIZATION_STREAM) == LOCATIONS
            wait_until(
                lambda: all(
                    (a := readyz(port)) is not None and a.status_code == 200 for port in ports
                ),
                30,
                "both replicas ready again",
                alive=alive,
            )
        finally:
            client.close()
