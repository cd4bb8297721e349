"""The CLI starts light: a command imports only what it runs (the demo brings FastAPI, SQLAlchemy
and aiohttp along; a worker its stage), and ``--version`` answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from services.cli import app
from tests.support.redis_server import RedisServer

HEAVY = ("aiohttp", "fastapi", "sqlalchemy", "uvicorn", "starlette", "mock_owm", "weather_service")
HEAVY_SERVICES = ("services.demo", "services.fetch_weather", "services.categorize")

# Runs a command the way the console script does and prints which heavy modules it imported.
PROBE = f"""
import json, sys
from services.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in {HEAVY!r} or m.startswith({HEAVY_SERVICES!r})
)
print(json.dumps(heavy), file=sys.stderr)
"""


def imported_heavy(args: list[str], env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    last = result.stderr.strip().splitlines()[-1]
    return list(json.loads(last))


@pytest.mark.parametrize("args", [["--help"], ["status", "--help"], ["dlq", "list", "--help"]])
def test_help_imports_no_service_stack(args: list[str]) -> None:
    assert imported_heavy(args, {}) == []


def test_status_against_redis_imports_no_service_stack(redis_server: RedisServer) -> None:
    assert imported_heavy(["status", "--json"], {"REDIS_URL": redis_server.url}) == []


def test_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"trail-etl {version('trail-etl')}"
