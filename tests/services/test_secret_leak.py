"""A password in REDIS_URL never shows, whatever goes wrong: every command and worker start, with
Redis unreachable, refusing the password, and refusing a permission. Each answers with one line
naming the problem (unreachable / authentication / the command refused), no traceback, and the
documented exit code; a worker waits out an unreachable Redis but stops on a refusal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services import pipeline_keys
from services.cli import app
from services.demo.environment import cli_command
from tests.services.conftest import WS_API_KEY
from tests.support.polling import wait_until
from tests.support.redis_server import RedisServer, free_port, redis_server_binary, require_or_skip
from tests.support.servers import serve_in_thread
from weather_service.app import create_app
from weather_service.settings import WeatherServiceSettings

MARKER = "Leak-Marker-7Qz!"  # the password in REDIS_URL, looked for in every output
ADMIN_PASSWORD = "admin-pw-not-the-marker"
SAMPLE_TRAILS = Path(__file__).parents[2] / "services" / "data" / "trails.csv"
# Bounds, not sleeps: with no client retries a refusal or a refused connection answers at once.
FAST_FAILURE = {"REDIS_RETRY_ATTEMPTS": "0", "REDIS_UNAVAILABLE_TIMEOUT_S": "0"}
PROCESS_TIMEOUT_S = 60.0
STREAM = pipeline_keys.INGESTION_STREAM

CLI_COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["dlq", "list", STREAM],
    ["dlq", "show", STREAM, "1-1"],
    ["dlq", "redrive", STREAM, "--all"],
    ["dlq", "purge", STREAM, "--all", "--yes"],
    ["pause", pipeline_keys.FETCH_GROUP],
    ["resume", pipeline_keys.FETCH_GROUP],
]
WORKERS = [["worker", "fetch-weather"], ["worker", "categorize-trail-conditions"]]
# What the one error line says in each situation.
PROBLEM = {
    "unreachable": r"cannot reach Redis at REDIS_URL=redis://:\*\*\*@127\.0\.0\.1:\d+/0",
    "wrong-password": r"Redis authentication failed: .*\(REDIS_URL=redis://:\*\*\*@",
    "no-permission": r"Redis ACL permission missing: the user may not run '[a-z|]+' "
    r"\(REDIS_URL=redis://limited:\*\*\*@",
}


@dataclass
class Situation:
    name: str
    redis_url: str


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    require_or_skip("redis-server", redis_server_binary() is not None)
    server = RedisServer(password=ADMIN_PASSWORD)
    server.start()
    import redis

    admin = redis.Redis.from_url(server.url)
    # A user that may connect and PING, and nothing else.
    admin.execute_command("ACL", "SETUSER", "limited", "on", f">{MARKER}", "~*", "-@all", "+ping")
    admin.close()
    yield server
    server.close()


@pytest.fixture(params=["unreachable", "wrong-password", "no-permission"])
def situation(request: pytest.FixtureRequest, server: RedisServer) -> Situation:
    urls = {
        "unreachable": f"redis://:{MARKER}@127.0.0.1:{free_port()}/0",
        "wrong-password": server.url_for(None, MARKER),
        "no-permission": server.url_for("limited", MARKER),
    }
    return Situation(request.param, urls[request.param])


@pytest.fixture(scope="module")
def weather_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("weather")
    settings = WeatherServiceSettings(
        database_url=f"sqlite:///{directory}/weather.db", weather_service_api_keys=WS_API_KEY
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url


def assert_no_leak(*outputs: str) -> None:
    for output in outputs:
        assert MARKER not in output, output
        assert "Traceback" not in output, output


def assert_one_error_line(stderr: str, situation: Situation) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert re.search(PROBLEM[situation.name], errors[0]), errors[0]
    return errors[0]


@pytest.mark.parametrize("args", CLI_COMMANDS, ids=" ".join)
def test_cli_commands(args: list[str], situation: Situation) -> None:
    env = {"REDIS_URL": situation.redis_url, **FAST_FAILURE}
    result = CliRunner().invoke(app, args, env=env)
    assert_no_leak(result.stdout, result.stderr)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert_one_error_line(result.stderr, situation)


def _env(situation: Situation, weather_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        **FAST_FAILURE,
        "REDIS_URL": situation.redis_url,
        "WEATHER_SERVICE_URL": weather_url,
        "WEATHER_SERVICE_API_KEY": WS_API_KEY,
        "OWM_API_KEY": "an-owm-key",
        "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
        "LOCATIONS_FILE": str(SAMPLE_TRAILS),
        "METRICS_PORT": "0",
    }


def test_schedule_and_worker_start(situation: Situation, weather_url: str, tmp_path: Path) -> None:
    env = _env(situation, weather_url, tmp_path)
    logs = {}
    procs = {}
    # Started together: each pays its interpreter start once, in parallel.
    for args in [["schedule"], *WORKERS]:
        name = args[-1]
        logs[name] = tmp_path / f"{name}.log"
        with logs[name].open("wb") as log:
            procs[name] = subprocess.Popen(
                cli_command(*args), env=env, stdout=log, stderr=subprocess.STDOUT
            )
    try:
        schedule = procs.pop("schedule")
        schedule.wait(timeout=PROCESS_TIMEOUT_S)
        output = logs["schedule"].read_text(errors="replace")
        assert_no_leak(output)
        if situation.name == "unreachable":  # the world: the run fails once its wait is over
            assert schedule.returncode == 1, output
            assert "RedisUnavailable" in output and "schedule-jobs failed" in output, output
        else:
            assert schedule.returncode == 2, output
            assert_one_error_line(output, situation)
        for name, proc in procs.items():
            if situation.name == "unreachable":  # a worker waits for Redis, saying so
                wait_until(
                    lambda name=name: "redis_unavailable" in logs[name].read_text(),
                    timeout_s=PROCESS_TIMEOUT_S,
                    message=f"{name} to log redis_unavailable",
                )
                assert proc.poll() is None, logs[name].read_text()
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=PROCESS_TIMEOUT_S)
                assert_no_leak(logs[name].read_text(errors="replace"))
                continue
            proc.wait(timeout=PROCESS_TIMEOUT_S)
            output = logs[name].read_text(errors="replace")
            assert_no_leak(output)
            assert proc.returncode == 2, output
            line = assert_one_error_line(output, situation)
            assert "redis_refused" in output  # the log line before the exit says where
            if situation.name == "no-permission":
                assert "'xgroup|create'" in line  # a worker's first command
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_bad_redis_url_is_not_echoed_with_its_password() -> None:
    url = f"rediz://:{MARKER}@127.0.0.1:1/0"
    result = CliRunner().invoke(app, ["status"], env={"REDIS_URL": url})
    assert result.exit_code == 2
    assert_no_leak(result.output)
    assert "REDIS_URL" in result.stderr and "rediz://:***@127.0.0.1:1/0" in result.stderr


def test_a_short_api_key_is_named_not_echoed() -> None:
    env = {"WEATHER_SERVICE_API_KEY": MARKER[:10], "OWM_API_KEY": MARKER}
    result = CliRunner().invoke(app, ["worker", "categorize-trail-conditions"], env=env)
    assert result.exit_code == 2
    assert "WEATHER_SERVICE_API_KEY" in result.stderr
    assert MARKER[:10] not in result.output
