"""Operator errors are one line naming the setting, with the configuration exit code (2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app
from tests.services.conftest import WS_API_KEY
from tests.support.redis_server import RedisServer

runner = CliRunner()


@pytest.mark.parametrize("args", [["status"], ["dlq", "list", "owm-ingestion-stream"]])
def test_a_database_number_the_server_lacks(redis_server: RedisServer, args: list[str]) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/99"
    result = runner.invoke(app, args, env={"REDIS_URL": url})
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "has no such database" in line and "REDIS_URL" in line


def test_a_worker_on_a_database_the_server_lacks_exits_2(redis_server: RedisServer) -> None:
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/99",
        "WEATHER_SERVICE_API_KEY": WS_API_KEY,
        "METRICS_PORT": "0",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.cli import main; main()",
            "worker",
            "categorize-trail-conditions",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "has no such database" in result.stderr.strip().splitlines()[-1]


def test_env_file_settings_apply_and_the_environment_wins(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # recorded first, so the value --env-file puts in os.environ is undone after the test
    monkeypatch.setenv("REDIS_URL", "placeholder")
    monkeypatch.delenv("REDIS_URL")
    env_file = tmp_path / "local.env"
    env_file.write_text(f"# the local pipeline\nREDIS_URL={redis_server.url}\n", encoding="utf-8")
    result = runner.invoke(app, ["--env-file", str(env_file), "status", "--json"])
    assert result.exit_code == 0, result.output
    # a variable set in the environment wins over the file
    unreachable = "redis://127.0.0.1:1/0"
    result = runner.invoke(
        app,
        ["--env-file", str(env_file), "status"],
        env={"REDIS_URL": unreachable, "REDIS_RETRY_ATTEMPTS": "0"},
    )
    assert result.exit_code == 2 and "redis://127.0.0.1:1/0" in result.output


def test_a_missing_env_file_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--env-file", str(tmp_path / "nope.env"), "status"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "--env-file" in line and "no such file" in line


@pytest.mark.parametrize("args", [["status"], ["dlq", "list", "owm-ingestion-stream"]])
def test_a_redis_url_with_a_bad_port_is_one_line_without_its_password(args: list[str]) -> None:
    result = runner.invoke(
        app, args, env={"REDIS_URL": "redis://:S3cret-pass@127.0.0.1:notaport/0"}
    )
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "REDIS_URL" in line and "the port is not a number" in line
    assert "S3cret" not in line and "Settings" not in line
