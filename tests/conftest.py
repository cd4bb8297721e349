"""Shared fixtures: the same behaviour tests run on fakeredis and on a real redis-server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import fakeredis
import pytest
import redis
import redis.asyncio as aioredis

from tests.support.redis_server import RedisServer, redis_server_binary, require_or_skip

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _no_mock_owm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set their own mock settings; MOCK_OWM_* variables of the machine must not leak in."""
    for name in list(os.environ):
        if name.upper().startswith("MOCK_OWM_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the session (tests flush it; it holds nothing else)."""
    require_or_skip("redis-server", redis_server_binary() is not None)
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test's own, for tests that kill or restart it."""
    require_or_skip("redis-server", redis_server_binary() is not None)
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def aof_redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test's own with the append-only file on: a SIGKILL and a restart
    keep every acknowledged write, as in production."""
    require_or_skip("redis-server", redis_server_binary() is not None)
    server = RedisServer(appendonly=True)
    server.start()
    yield server
    server.close()


@dataclass
class RedisBackend:
    """How a test reaches one Redis: sync and asyncio clients that share the same data."""

    kind: str  # "fake" or "real"
    make_sync: Callable[[], Any]
    make_async: Callable[[], Any]
    url: str | None = None

    @property
    def is_fake(self) -> bool:
        return self.kind == "fake"


@pytest.fixture(params=["fake", "real"])
def backend(request: pytest.FixtureRequest) -> Iterator[RedisBackend]:
    if request.param == "fake":
        server = fakeredis.FakeServer()
        yield RedisBackend(
            kind="fake",
            make_sync=lambda: fakeredis.FakeRedis(server=server),
            make_async=lambda: fakeredis.FakeAsyncRedis(server=server),
        )
        return
    real: RedisServer = request.getfixturevalue("redis_server")
    flush = redis.Redis.from_url(real.url)
    flush.flushall()
    yield RedisBackend(
        kind="real",
        make_sync=lambda: redis.Redis.from_url(real.url),
        make_async=lambda: aioredis.Redis.from_url(real.url),
        url=real.url,
    )
    flush.flushall()
    flush.close()


@pytest.fixture
def sredis(backend: RedisBackend) -> Iterator[Any]:
    client = backend.make_sync()
    yield client
    client.close()


@pytest.fixture
async def aredis(backend: RedisBackend) -> AsyncIterator[Any]:
    client = backend.make_async()
    yield client
    await client.aclose()
