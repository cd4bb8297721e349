"""Kept-alive connections: the client never reuses one longer than its keep-alive, and our servers
keep theirs open longer than that, so a request never meets a connection the server has closed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import mock_owm.server
import weather_service.server
from services.http_transport import CLIENT_KEEPALIVE_S, AiohttpTransport

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class CountingServer:
    """A minimal HTTP/1.1 server that keeps every connection open and counts them."""

    def __init__(self) -> None:
        self.connections = 0
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _serve(server: CountingServer) -> asyncio.Server:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/"
    return listener


async def test_a_connection_is_reused_within_the_keepalive_and_not_after() -> None:
    server = CountingServer()
    listener = await _serve(server)
    keepalive_s = 0.2
    transport = AiohttpTransport(max_connections=4, keepalive_s=keepalive_s)
    try:
        for _ in range(3):
            assert (await transport.request("GET", server.url, timeout_s=10)).status == 200
        assert server.connections == 1
        idle_since = time.monotonic()
        # The idle time is the condition under test, not a guess at how long something takes.
        await asyncio.sleep(keepalive_s * 2)
        assert time.monotonic() - idle_since > keepalive_s
        assert (await transport.request("GET", server.url, timeout_s=10)).status == 200
        assert server.connections == 2
    finally:
        await transport.aclose()
        listener.close()
        await listener.wait_closed()


@pytest.mark.parametrize("module", [weather_service.server, mock_owm.server])
def test_our_servers_keep_idle_connections_longer_than_the_client(
    module: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(module.uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    # serve() also tunes the collector and configures logging for its process: not this one's.
    monkeypatch.setattr(module, "tune_gc", lambda *args: None)
    monkeypatch.setattr(module, "configure_logging", lambda **kwargs: None)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'weather.db'}")
    monkeypatch.setenv("WEATHER_SERVICE_API_KEYS", "test-write-key-0123456789")
    module.serve("127.0.0.1", 0)
    assert seen["timeout_keep_alive"] > CLIENT_KEEPALIVE_S
