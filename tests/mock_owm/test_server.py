"""The mock as a real process (``python -m mock_owm.server`` runs ``serve``): a real client times
out on an injected hang; without MOCK_OWM_ADMIN_TOKEN the mock logs the token it made, once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN, KEY, ZURICH
from tests.support.polling import wait_until
from tests.support.redis_server import free_port

GENERATED_EVENT = "mock_owm.admin_token_generated"


@contextmanager
def running_mock(log_path: Path, **env: str) -> Iterator[str]:
    """A mock process with ``env`` on top of a fixed clock; its URL. It logs to ``log_path``."""
    port = free_port()
    full_env = {
        **os.environ,
        "MOCK_OWM_NOW": "2024-01-15T12:00:00Z",
        "MOCK_OWM_API_KEYS": KEY,
        "MOCK_OWM_TIMEOUT_S": "5",
        "MOCK_OWM_LOG_LEVEL": "WARNING",
        **env,
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mock_owm.server", "--host", "127.0.0.1", "--port", str(port)],
            env=full_env,
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, "the mock exited: " + log_path.read_text(errors="replace")
        try:
            return httpx.get(url + "/__health", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, timeout_s=30, message="mock_owm to answer /__health")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_mock(tmp_path / "mock.log", MOCK_OWM_ADMIN_TOKEN=ADMIN_TOKEN) as url:
        yield url


def test_served_over_http_and_a_real_client_times_out(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5.0, headers=ADMIN_HEADERS) as client:
        response = client.get("/data/3.0/onecall", params={**ZURICH, "appid": KEY})
        assert response.status_code == 200 and len(response.json()["hourly"]) == 48
        assert client.post("/__faults", json={"timeout_rate": 1.0}).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            client.get("/data/3.0/onecall", params={**ZURICH, "appid": KEY}, timeout=0.3)
        assert client.post("/__faults/reset").status_code == 200
        assert client.get("/__stats").json()["errors_injected"] == {"timeout": 1}


def _generated_tokens(log_path: Path) -> list[str]:
    tokens = []
    for line in log_path.read_text(errors="replace").splitlines():
        if GENERATED_EVENT in line:
            tokens.append(str(json.loads(line)["admin_token"]))
    return tokens


def test_without_a_token_one_is_made_and_logged_once(tmp_path: Path) -> None:
    log_path = tmp_path / "mock.log"
    with running_mock(log_path, MOCK_OWM_ADMIN_TOKEN="") as url:
        (token,) = _generated_tokens(log_path)  # logged before the mock answers: once
        assert len(token) >= 32
        assert httpx.get(url + "/__stats", timeout=5.0).status_code == 401
        allowed = httpx.get(
            url + "/__stats", headers={"Authorization": f"Bearer {token}"}, timeout=5.0
        )
        assert allowed.status_code == 200


def test_a_configured_token_is_never_logged(tmp_path: Path) -> None:
    log_path = tmp_path / "mock.log"
    with running_mock(
        log_path, MOCK_OWM_ADMIN_TOKEN=ADMIN_TOKEN, MOCK_OWM_LOG_LEVEL="DEBUG"
    ) as url:
        assert httpx.get(url + "/__stats", headers=ADMIN_HEADERS, timeout=5.0).status_code == 200
    assert ADMIN_TOKEN not in log_path.read_text(errors="replace")
    assert _generated_tokens(log_path) == []
