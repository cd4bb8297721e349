"""The control endpoints need the admin token (``Authorization: Bearer``); /__health does not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from etl_core.errors import ConfigurationError
from mock_owm.app import create_app
from mock_owm.auth import ADMIN_REFUSED_MESSAGE
from mock_owm.settings import MockOwmSettings
from tests.mock_owm.conftest import ADMIN_TOKEN, FIXED_NOW, KEY

# Every control endpoint but /__health, with a body it accepts.
GUARDED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/__faults", None),
    ("POST", "/__faults", {"error_rate": 0.5}),
    ("POST", "/__faults/reset", None),
    ("GET", "/__stats", None),
    ("POST", "/__stats/reset", None),
    ("POST", "/__warm", {"locations": [[47.37, 8.54]]}),
]
REFUSED = {"cod": 401, "message": ADMIN_REFUSED_MESSAGE}
WRONG_CREDENTIALS = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer wrong-token-0123456789"},
    {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"},  # a prefix of the token
    {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
    {"Authorization": f"Basic {ADMIN_TOKEN}"},
    {"X-Admin-Token": ADMIN_TOKEN},  # not the documented header
]


@pytest.fixture
def app() -> FastAPI:
    return create_app(MockOwmSettings.load(now=FIXED_NOW, admin_token=ADMIN_TOKEN))


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends no credential unless a test gives one."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock-owm") as client:
        yield client


def test_every_control_endpoint_but_health_is_listed_here_and_documented(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    served = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/__")
        for method in operations
    }
    assert served == {(method, path) for method, path, _ in GUARDED} | {("GET", "/__health")}
    for method, path, _ in GUARDED:
        assert paths[path][method.lower()]["security"] == [{"AdminToken": []}], path


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
@pytest.mark.parametrize("headers", WRONG_CREDENTIALS)
async def test_refused_without_the_token(
    anonymous: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    response = await anonymous.request(method, path, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == REFUSED
    assert response.headers["www-authenticate"] == "Bearer"
    assert ADMIN_TOKEN not in response.text


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
async def test_accepted_with_the_token(
    anonymous: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = await anonymous.request(method, path, json=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_health_needs_no_token(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/__health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_a_refused_change_changes_nothing(app: FastAPI, anonymous: httpx.AsyncClient) -> None:
    refused = await anonymous.post("/__faults", json={"api_keys": ["intruder-key"]})
    assert refused.status_code == 401
    assert app.state.mock.config.api_keys == (KEY,)
    onecall = {"lat": 47.37, "lon": 8.54, "appid": KEY}
    assert (await anonymous.get("/data/3.0/onecall", params=onecall)).status_code == 200


async def test_api_requests_need_no_admin_token(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(
        "/data/3.0/onecall", params={"lat": 47.37, "lon": 8.54, "appid": KEY}
    )
    assert response.status_code == 200


def test_without_a_setting_each_mock_makes_its_own_token() -> None:
    first = create_app(MockOwmSettings.load(admin_token="")).state.mock
    second = create_app(MockOwmSettings.load()).state.mock
    assert first.admin_token_generated and second.admin_token_generated
    assert len(first.admin_token) >= 32 and first.admin_token != second.admin_token


@pytest.mark.parametrize(
    "token",
    ["short", "x" * 257, "has a space in it here", "tab\there-0123456789", "nön-ascii-0123456789"],
)
def test_a_bad_configured_token_is_named_and_not_shown(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("MOCK_OWM_ADMIN_TOKEN", token)
    with pytest.raises(ConfigurationError) as excinfo:
        MockOwmSettings.load()
    assert "MOCK_OWM_ADMIN_TOKEN" in str(excinfo.value)
    assert token not in str(excinfo.value)
