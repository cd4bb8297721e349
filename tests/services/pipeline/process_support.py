"""Multi-process pipeline tests' steps: a real redis-server, mock-owm and the weather service as
``trail-etl serve`` processes, workers as ``trail-etl worker`` processes, polled with deadlines."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from etl_core import keys
from services import pipeline_keys
from services.demo.environment import (
    DEMO_API_KEY,
    DEMO_OWM_KEY,
    Children,
    cli_command,
    start_services,
)
from services.demo.run import demo_locations
from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN
from tests.services.conftest import SOURCES, SourceUnderTest
from tests.support.redis_server import RedisServer, redis_server_binary, require_or_skip

START_TIMEOUT_S = 60.0
POLL_S = 0.2


@dataclass
class Pipeline:
    redis: RedisServer
    children: Children
    weather_url: str
    owm_url: str
    work_dir: Path
    owm_admin_headers: dict[str, str]  # for the mock's /__stats and /__faults
    source: SourceUnderTest = SOURCES["owm"]

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "REDIS_URL": self.redis.url,
            "WEATHER_SERVICE_URL": self.weather_url,
            "WEATHER_SERVICE_API_KEY": DEMO_API_KEY,
            "OWM_BASE_URL": self.owm_url,
            "OWM_API_KEY": DEMO_OWM_KEY,
            "OWM_RATE_LIMIT_PER_MINUTE": "1000000",
            "OWM_RATE_LIMIT_PER_DAY": "100000000",
            "OUTBOX_PATH": str(self.work_dir / "outbox.sqlite3"),
            "LOG_LEVEL": "INFO",
            "METRICS_PORT": "0",  # several workers on one host would share the default port
            **self.source.env(self.owm_url),
            **overrides,
        }

    def seed(self, n: int) -> list[str]:
        """Create ``n`` demo locations in the weather service; their ids."""
        bodies = demo_locations(n)
        response = httpx.post(
            self.weather_url + "/v1/locations",
            json={"locations": bodies},
            headers={"X-API-Key": DEMO_API_KEY},
            timeout=60.0,
        )
        response.raise_for_status()
        return [str(b["id"]) for b in bodies]

    def schedule(self, env: dict[str, str]) -> str:
        """``trail-etl schedule`` as a subprocess; its output (a non-zero exit fails the test)."""
        done = subprocess.run(
            cli_command("schedule"), env=_full_env(env), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    def start_worker(
        self, name: str, stage: str, env: dict[str, str], *extra: str
    ) -> subprocess.Popen[bytes]:
        return self.children.start(name, cli_command("worker", stage, *extra), env)

    def conditions_count(self) -> int:
        response = httpx.get(self.weather_url + "/v1/stats", timeout=10.0)
        response.raise_for_status()
        return int(response.json()["conditions"])

    def latest_condition_ids(self) -> set[str]:
        ids: set[str] = set()
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            response = httpx.get(
                self.weather_url + "/v1/conditions/latest", params=params, timeout=30.0
            )
            response.raise_for_status()
            page = response.json()
            ids.update(str(item["location_id"]) for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return ids

    def locations_without_weather(self, location_ids: list[str]) -> list[str]:
        missing = []
        with httpx.Client(base_url=self.weather_url, timeout=30.0) as http:
            for location_id in location_ids:
                response = http.get(f"/v1/locations/{location_id}/weather", params={"limit": 1})
                response.raise_for_status()
                if not response.json()["items"]:
                    missing.append(location_id)
        return missing

    def owm_stats(self) -> dict[str, Any]:
        response = httpx.get(
            self.owm_url + "/__stats", headers=self.owm_admin_headers, timeout=10.0
        )
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def log_tail(self, chars: int = 3000) -> str:
        parts = []
        for path in sorted(self.work_dir.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)


def _full_env(env: dict[str, str]) -> dict[str, str]:
    import os

    return {**os.environ, **env}


def wait_until(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    *,
    alive: Callable[[], None] | None = None,
) -> None:
    """Poll ``condition`` until true; fail naming ``what`` when ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def require_running(procs: list[subprocess.Popen[bytes]], pipeline: Pipeline) -> Callable[[], None]:
    def check() -> None:
        for proc in procs:
            code = proc.poll()
            assert code is None, f"a worker exited with {code}\n{pipeline.log_tail()}"

    return check


@contextmanager
def running_pipeline(
    work_dir: Path,
    *,
    appendonly: bool = False,
    source: SourceUnderTest = SOURCES["owm"],
    **mock_env: str,
) -> Iterator[Pipeline]:
    """A private redis-server (``appendonly``: with its AOF, to survive a restart), mock-owm and
    the weather service; every process stopped at exit. The workers ``env`` makes use
    ``source``."""
    require_or_skip("redis-server", redis_server_binary() is not None)
    server = RedisServer(appendonly=appendonly)
    children = Children(work_dir)
    try:
        server.start()
        owm_url, weather_url = start_services(
            children, work_dir, owm_admin_token=ADMIN_TOKEN, mock_env=mock_env
        )
        yield Pipeline(server, children, weather_url, owm_url, work_dir, ADMIN_HEADERS, source)
    finally:
        children.stop(timeout_s=30.0)
        server.close()


def set_faults(pipeline: Pipeline, **faults: Any) -> None:
    """Make the mock misbehave (its ``/__faults`` admin endpoint)."""
    response = httpx.post(
        pipeline.owm_url + "/__faults",
        json=faults,
        headers=pipeline.owm_admin_headers,
        timeout=10.0,
    )
    assert response.status_code == 200, response.text


def seed_location_files(pipeline: Pipeline, count: int, per_file: int) -> list[Path]:
    """Create ``count`` demo locations in the weather service and split them into files of
    ``per_file`` (for ``LOCATIONS_FILE``), so each scheduled run has locations no other run used."""
    bodies = demo_locations(count)
    response = httpx.post(
        pipeline.weather_url + "/v1/locations",
        json={"locations": bodies},
        headers={"X-API-Key": DEMO_API_KEY},
        timeout=120.0,
    )
    response.raise_for_status()
    files = []
    for n, start in enumerate(range(0, count, per_file)):
        file = pipeline.work_dir / f"locations-{n}.jsonl"
        file.write_text("".join(json.dumps(b) + "\n" for b in bodies[start : start + per_file]))
        files.append(file)
    return files


def run_locations_file(
    pipeline: Pipeline,
    env: dict[str, str],
    file: Path,
    expected_conditions: int,
    timeout_s: float,
    alive: Callable[[], None],
) -> float:
    """Schedule the locations of ``file``; seconds until the weather service holds
    ``expected_conditions`` conditions in all."""
    started = time.monotonic()
    pipeline.schedule({**env, "LOCATIONS_FILE": str(file)})
    wait_until(
        lambda: pipeline.conditions_count() >= expected_conditions,
        timeout_s,
        f"{expected_conditions} conditions",
        alive=alive,
    )
    return time.monotonic() - started


def redis_client(pipeline: Pipeline) -> redis.Redis:
    return redis.Redis.from_url(pipeline.redis.url, decode_responses=True)


def pending_count(client: redis.Redis, stream: str, group: str) -> int:
    summary: Any = client.xpending(stream, group)
    return int(summary["pending"])


def worker_totals(pipeline: Pipeline, name: str) -> dict[str, Any]:
    """The counts a stopped worker logged in its ``worker_stopped`` line (JSON logs)."""
    for line in (pipeline.work_dir / f"{name}.log").read_text(errors="replace").splitlines():
        if '"worker_stopped"' in line:
            totals: dict[str, Any] = json.loads(line)
            return totals
    raise AssertionError(f"{name} logged no worker_stopped line\n{pipeline.log_tail()}")


def dead_letter_counts(client: redis.Redis) -> dict[str, int]:
    return {
        s: int(client.xlen(keys.dead_letter_stream(s)))
        for s in (pipeline_keys.INGESTION_STREAM, pipeline_keys.CATEGORIZATION_STREAM)
    }


def drained(client: redis.Redis, stream: str, group: str) -> bool:
    """Nothing pending, nothing waiting for a retry, nothing unread in ``group`` of ``stream``."""
    if pending_count(client, stream, group) or client.zcard(keys.delayed_set(stream)):
        return False
    groups: Any = client.xinfo_groups(stream)
    (info,) = [g for g in groups if g["name"] == group]
    stream_info: Any = client.xinfo_stream(stream)
    return bool(info["last-delivered-id"] == stream_info["last-generated-id"])
