"""The mock as a real process (``python -m mock_owm.server`` runs ``serve``): a real client times
out on an injected hang."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.mock_owm.conftest import KEY, ZURICH
from tests.support.polling import wait_until
from tests.support.redis_server import free_port


@pytest.fixture
def server() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MOCK_OWM_NOW": "2024-01-15T12:00:00Z", "MOCK_OWM_API_KEYS": KEY,
           "MOCK_OWM_TIMEOUT_S": "5", "MOCK_OWM_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "mock_owm.server", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, "the mock exited"
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


def test_served_over_http_and_a_real_client_times_out(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5.0) as client:
        response = client.get("/data/3.0/onecall", params={**ZURICH, "appid": KEY})
        assert response.status_code == 200 and len(response.json()["hourly"]) == 48
        assert client.post("/__faults", json={"timeout_rate": 1.0}).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            client.get("/data/3.0/onecall", params={**ZURICH, "appid": KEY}, timeout=0.3)
        assert client.post("/__faults/reset").status_code == 200
        assert client.get("/__stats").json()["errors_injected"] == {"timeout": 1}
