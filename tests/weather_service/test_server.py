"""The real thing: ``serve()`` in a subprocess (settings from the environment, migration, uvicorn),
concurrent writers over HTTP, and a clean exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.polling import wait_until
from tests.support.redis_server import free_port
from tests.weather_service.conftest import WRITE_HEADERS, location, weather

WRITERS = 4
BATCHES_PER_WRITER = 5
HOURS_PER_BATCH = 50


@pytest.fixture
def served(fresh_database_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database_url,
        "WEATHER_SERVICE_API_KEYS": WRITE_HEADERS["X-API-Key"],
        "WEATHER_SERVICE_LOG_LEVEL": "WARNING",
    }
    code = f"from weather_service.server import serve; serve('127.0.0.1', {port})"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    base_url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            return httpx.get(f"{base_url}/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, timeout_s=60, message="the weather service to become ready")
        yield proc, base_url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_serve_migrates_takes_concurrent_writes_and_stops_on_sigterm(
    served: tuple[subprocess.Popen[bytes], str],
) -> None:
    proc, base_url = served
    with httpx.Client(base_url=base_url, headers=WRITE_HEADERS, timeout=60) as client:
        ids = [f"trail-{n}" for n in range(WRITERS)]
        created = client.post("/v1/locations", json={"locations": [location(i) for i in ids]})
        assert created.status_code == 200

        def write(writer: int) -> list[int]:
            statuses = []
            for batch in range(BATCHES_PER_WRITER):
                records = [
                    weather(batch * HOURS_PER_BATCH + h, location_id=ids[(writer + h) % WRITERS])
                    for h in range(HOURS_PER_BATCH)
                ]
                statuses.append(client.put("/v1/weather", json={"records": records}).status_code)
            return statuses

        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            statuses = [s for result in pool.map(write, range(WRITERS)) for s in result]

        assert statuses == [200] * (WRITERS * BATCHES_PER_WRITER)
        stats = client.get("/v1/stats").json()
        expected = BATCHES_PER_WRITER * HOURS_PER_BATCH * WRITERS
        assert stats["weather_records"]["forecast"] == expected
        assert 'route="/v1/weather",status="200"} 20.0' in client.get("/metrics").text

    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status reports it.
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)


def raw_request(base_url: str, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """One request written byte for byte (httpx refuses header values with whitespace at their
    ends, which is what some clients send); the status and the raw header block."""
    host, port = base_url.removeprefix("http://").split(":")
    request = head + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    headers = answer.split(b"\r\n\r\n", 1)[0]
    return int(headers.split(b" ", 2)[1]), headers.lower()


def test_the_served_app_builds_nothing_from_host_and_trims_keys_alike(
    served: tuple[subprocess.Popen[bytes], str],
) -> None:
    """Through uvicorn's own HTTP parsing, which strips some header whitespace and not other."""
    _proc, base_url = served
    key = WRITE_HEADERS["X-API-Key"].encode()
    status, headers = raw_request(base_url, b"GET /v1/locations/ HTTP/1.1\r\nHost: evil.example")
    assert status == 404
    assert b"evil.example" not in headers and b"\r\nlocation:" not in headers
    assert b"\r\nserver:" not in headers
    assert b"\r\nx-content-type-options: nosniff" in headers
    with httpx.Client(base_url=base_url, timeout=30) as client:
        got, head = client.get("/v1/stats"), client.head("/v1/stats")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]
    body = json.dumps({"locations": [location("trail-0")]}).encode()
    for presented in (b" " + key, key + b" ", b"\t" + key + b"\t", key):
        status, _ = raw_request(
            base_url,
            b"POST /v1/locations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-API-Key: " + presented,
            body,
        )
        assert status == 200, presented
    status, _ = raw_request(
        base_url,
        b"POST /v1/locations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + key[:-1] + b" ",
        body,
    )
    assert status == 401
