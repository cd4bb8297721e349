"""``trail-etl demo``, the README's run command, end to end."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app
from tests.support.redis_server import redis_server_binary, require_or_skip

ROOT = Path(__file__).resolve().parents[2]


def test_demo_labels_every_location_with_a_private_redis_server() -> None:
    require_or_skip("redis-server", redis_server_binary() is not None)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.cli import main; main()",
            "demo",
            "--locations",
            "8",
            "--timeout-s",
            "120",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Redis: redis-server" in done.stdout
    assert "every location has a trail condition (8/8)" in done.stdout


def test_demo_falls_back_to_fakeredis_when_no_redis_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr("services.demo.environment.shutil.which", lambda _name: None)
    result = CliRunner().invoke(
        app, ["demo", "--locations", "5", "--fault-rate", "0.2", "--timeout-s", "120"]
    )
    assert result.exit_code == 0, result.output[-3000:]
    assert "Redis: fakeredis" in result.output
    assert "every location has a trail condition (5/5)" in result.output
    # Read from the mock's /__stats, which needs the admin token the demo gave the mock.
    calls = re.search(r"owm calls\W+(\d+)", result.output)
    assert calls is not None and int(calls[1]) >= 5, result.output[-3000:]
