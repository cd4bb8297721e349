"""In-process mock_owm apps for tests: httpx.AsyncClient over ASGITransport, a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from mock_owm.app import create_app
from mock_owm.service import MockOwm
from mock_owm.settings import MockOwmSettings

FIXED_NOW = "2024-01-15T12:00:00Z"
FIXED_NOW_S = 1_705_320_000
KEY = "mock-owm-key"
ADMIN_TOKEN = "mock-owm-test-admin-token"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ONECALL = "/data/3.0/onecall"
TIMEMACHINE = "/data/3.0/onecall/timemachine"
DAY_SUMMARY = "/data/3.0/onecall/day_summary"
OVERVIEW = "/data/3.0/onecall/overview"
ZURICH = {"lat": 47.3769, "lon": 8.5417}

MockClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def mock_app_client(**settings: Any) -> AsyncIterator[tuple[MockOwm, httpx.AsyncClient]]:
    """An app with ``settings`` (the clock fixed at FIXED_NOW and the admin token ADMIN_TOKEN
    unless given), its state and a client for it that sends the admin token."""
    settings.setdefault("now", FIXED_NOW)
    settings.setdefault("admin_token", ADMIN_TOKEN)
    app = create_app(MockOwmSettings.load(**settings))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mock-owm", headers=ADMIN_HEADERS
    ) as client:
        yield app.state.mock, client


@asynccontextmanager
async def mock_client(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with mock_app_client(**settings) as (_, client):
        yield client


class FakeClock:
    """Stands in for ``time.monotonic``/``time.time``: moves only when told to."""

    def __init__(self, start_s: float = 1_000.0) -> None:
        self.now_s = start_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


@pytest.fixture
def make_client() -> MockClientFactory:
    return mock_client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with mock_client() as c:
        yield c


async def onecall(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    params.setdefault("appid", KEY)
    response = await client.get(ONECALL, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
