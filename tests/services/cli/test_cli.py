"""The service commands: bad settings exit 2 with one line naming the variable; schedule runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from typer.testing import CliRunner

from etl_core import keys
from services import pipeline_keys
from services.cli import schedule, worker
from services.schedule_jobs.locations import read_locations_file
from tests.services.conftest import WS_API_KEY
from tests.support.polling import wait_until
from tests.support.redis_server import RedisServer, free_port
from tests.support.servers import serve_in_thread
from weather_service.app import create_app
from weather_service.settings import WeatherServiceSettings

SAMPLE_TRAILS = Path(__file__).parents[3] / "services" / "data" / "trails.csv"
SETTINGS_NAMES = (
    "REDIS_URL",
    "WEATHER_SERVICE_URL",
    "WEATHER_SERVICE_API_KEY",
    "OWM_BASE_URL",
    "OWM_API_KEY",
    "OUTBOX_PATH",
    "LOCATIONS_FILE",
    "CLASSIFIER",
    "SCHEDULE_WINDOW",
    "WORKER_MAX_DELIVERIES",
    "METRICS_PORT",
    "METRICS_HOST",
    "WORKER_LIVENESS_TIMEOUT_S",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS_NAMES:
        monkeypatch.delenv(name, raising=False)
    # structlog is process-global: pointed at CliRunner's stderr, it would outlive the runner.
    for module in (schedule, worker):
        monkeypatch.setattr(module, "configure_logging", lambda **_: None)


def _one_error_line(stderr: str, *names: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    for name in names:
        assert name in lines[0]


def test_fetch_weather_without_keys_exits_2_naming_them() -> None:
    result = CliRunner().invoke(worker.app, ["fetch-weather"])
    assert result.exit_code == 2
    _one_error_line(result.stderr, "WEATHER_SERVICE_API_KEY", "OWM_API_KEY")


def test_categorize_with_a_bad_classifier_exits_2_naming_it() -> None:
    env = {"WEATHER_SERVICE_API_KEY": WS_API_KEY, "CLASSIFIER": "nowhere.module:Thing"}
    result = CliRunner().invoke(worker.app, ["categorize-trail-conditions"], env=env)
    assert result.exit_code == 2
    _one_error_line(result.stderr, "CLASSIFIER", "nowhere.module:Thing")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METRICS_PORT", "70000"),
        ("METRICS_PORT", "-1"),
        ("METRICS_PORT", "http"),
        ("WORKER_LIVENESS_TIMEOUT_S", "0"),
        ("METRICS_HOST", ""),
    ],
)
@pytest.mark.parametrize("command", ["fetch-weather", "categorize-trail-conditions"])
def test_a_worker_with_a_bad_metrics_setting_exits_2_naming_it(
    command: str, name: str, value: str
) -> None:
    env = {"WEATHER_SERVICE_API_KEY": WS_API_KEY, "OWM_API_KEY": "mock-owm-key", name: value}
    result = CliRunner().invoke(worker.app, [command], env=env)
    assert result.exit_code == 2
    _one_error_line(result.stderr, name, repr(value))


@pytest.mark.parametrize("command", ["fetch-weather", "categorize-trail-conditions"])
def test_a_reclaim_idle_time_within_the_handler_timeout_exits_2_naming_both(command: str) -> None:
    env = {
        "WEATHER_SERVICE_API_KEY": WS_API_KEY,
        "OWM_API_KEY": "mock-owm-key",
        "WORKER_HANDLER_TIMEOUT_S": "60",
        "WORKER_RECLAIM_IDLE_MS": "60000",
    }
    result = CliRunner().invoke(worker.app, [command], env=env)
    assert result.exit_code == 2
    _one_error_line(result.stderr, "WORKER_RECLAIM_IDLE_MS", "WORKER_HANDLER_TIMEOUT_S")


def test_schedule_with_a_bad_window_exits_2_naming_it() -> None:
    env = {"WEATHER_SERVICE_API_KEY": WS_API_KEY, "SCHEDULE_WINDOW": "7x"}
    result = CliRunner().invoke(schedule.app, [], env=env)
    assert result.exit_code == 2
    _one_error_line(result.stderr, "SCHEDULE_WINDOW")


@pytest.mark.parametrize(
    ("name", "value"), [("SCHEDULE_WINDOW", "7x"), ("WORKER_MAX_DELIVERIES", "10001")]
)
@pytest.mark.parametrize("command", ["fetch-weather", "categorize-trail-conditions"])
def test_a_worker_with_a_bad_window_or_delivery_bound_exits_2_naming_it(
    command: str, name: str, value: str
) -> None:
    env = {"WEATHER_SERVICE_API_KEY": WS_API_KEY, "OWM_API_KEY": "mock-owm-key", name: value}
    result = CliRunner().invoke(worker.app, [command], env=env)
    assert result.exit_code == 2
    _one_error_line(result.stderr, name)


def test_the_sample_trails_file_is_valid() -> None:
    assert len(list(read_locations_file(SAMPLE_TRAILS))) == 20


@pytest.fixture
def weather_url(tmp_path: Path) -> Iterator[str]:
    settings = WeatherServiceSettings(
        database_url=f"sqlite:///{tmp_path}/weather.db", weather_service_api_keys=WS_API_KEY
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url


def test_schedule_publishes_the_sample_file_once(
    redis_server: RedisServer, weather_url: str, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    env = {
        "REDIS_URL": redis_server.url,
        "WEATHER_SERVICE_URL": weather_url,
        "WEATHER_SERVICE_API_KEY": WS_API_KEY,
        "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
        "LOCATIONS_FILE": str(SAMPLE_TRAILS),
    }
    try:
        first = CliRunner().invoke(schedule.app, [], env=env)
        assert first.exit_code == 0, first.stderr
        assert "20 published" in first.stdout
        again = CliRunner().invoke(schedule.app, [], env=env)
        assert again.exit_code == 0, again.stderr
        assert client.xlen(pipeline_keys.INGESTION_STREAM) in (
            20,
            40,
        )  # 40 only across an hour boundary
        bad = tmp_path / "bad.csv"
        bad.write_text("id,lat,lon\nok,1,2\nbroken,1,200\n", encoding="utf-8")
        failed = CliRunner().invoke(schedule.app, [], env={**env, "LOCATIONS_FILE": str(bad)})
        assert failed.exit_code == 2
        _one_error_line(failed.stderr, "LOCATIONS_FILE", "line 3", "lon")
    finally:
        client.flushall()
        client.close()


@pytest.mark.parametrize(
    ("command", "group"),
    [
        ("fetch-weather", pipeline_keys.FETCH_GROUP),
        ("categorize-trail-conditions", pipeline_keys.CATEGORIZE_GROUP),
    ],
)
def test_a_worker_runs_until_sigterm(
    redis_server: RedisServer, tmp_path: Path, command: str, group: str
) -> None:
    """... and serves its probes and metrics on METRICS_HOST:METRICS_PORT meanwhile."""
    client = redis.Redis.from_url(redis_server.url)
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "WEATHER_SERVICE_API_KEY": WS_API_KEY,
        "OWM_API_KEY": "mock-owm-key",
        "METRICS_PORT": str(port),
        "METRICS_HOST": "127.0.0.1",
    }
    code = "from services.cli.worker import app; app()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, command, "--concurrency", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(
            lambda: client.keys(keys.heartbeat_prefix(group) + "*") or process.poll() is not None,
            timeout_s=30,
            message=f"{command} to write its heartbeat",
        )
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/livez", timeout=5).json()["status"] == "ok"
        assert httpx.get(base + "/readyz", timeout=5).status_code == 200
        page = httpx.get(base + "/metrics", timeout=5).text
        assert f'trail_etl_worker_tasks_total{{outcome="done",stage="{group}"}} 0.0' in page
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        client.flushall()
        client.close()


def test_the_default_weather_service_url_is_where_serve_listens() -> None:
    """A worker, the scheduler and ``locations import`` find ``trail-etl serve weather-service``
    without WEATHER_SERVICE_URL (the defaults once pointed at 8080, serve at 8000)."""
    import inspect
    from urllib.parse import urlsplit

    from services.cli.locations import LocationsSettings
    from services.cli.serve import weather_service
    from services.schedule_jobs.settings import ScheduleSettings
    from services.worker_settings import WorkerSettings

    port = inspect.signature(weather_service).parameters["port"].default.default
    for cls in (WorkerSettings, ScheduleSettings, LocationsSettings):
        url = cls.model_fields["weather_service_url"].default
        assert urlsplit(url).port == port, cls.__name__
