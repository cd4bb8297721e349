"""Every answer carries the security headers, whatever its status and whoever made it (a route,
FastAPI's validation, the body-size limit, Starlette's 404/405, or its 500)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from tests.weather_service.conftest import WRITE_HEADERS, Api
from weather_service.api import stats
from weather_service.security_headers import SECURITY_HEADERS, SecurityHeadersMiddleware

EXPECTED = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}


def assert_secured(response: Any, *, policy_of_its_own: bool = False) -> None:
    for name, value in EXPECTED.items():
        if name == "content-security-policy" and policy_of_its_own:
            assert "frame-ancestors 'none'" in response.headers[name]
            continue
        assert response.headers.get(name) == value, (response.request.url, name)


def test_every_kind_of_answer_carries_the_headers(make_api: Callable[..., Api]) -> None:
    api = make_api(weather_service_max_body_bytes=2048)
    client = api.client
    answers = {
        200: client.get("/v1/locations"),
        "probe": client.get("/health"),
        "metrics": client.get("/metrics"),
        "head": client.head("/v1/stats"),
        401: client.post("/v1/locations", json={"locations": []}),
        404: client.get("/v1/locations/no-such-trail"),
        "404 path": client.get("/nowhere"),
        405: client.delete("/v1/locations"),
        400: client.post(
            "/v1/locations",
            content=b"{",
            headers={**WRITE_HEADERS, "Content-Type": "application/json"},
        ),
        "400 length": client.post(
            "/v1/locations", headers={**WRITE_HEADERS, "Content-Length": "x"}
        ),
        413: client.post(
            "/v1/locations",
            content=b" " * 4096,
            headers={**WRITE_HEADERS, "Content-Type": "application/json"},
        ),
        415: client.post(
            "/v1/locations", content=b"{}", headers={**WRITE_HEADERS, "Content-Type": "text/plain"}
        ),
        422: api.write("POST", "/v1/locations", {"locations": []}),
    }
    statuses = {key: response.status_code for key, response in answers.items()}
    assert statuses == {
        200: 200,
        "probe": 200,
        "metrics": 200,
        "head": 200,
        401: 401,
        404: 404,
        "404 path": 404,
        405: 405,
        400: 400,
        "400 length": 400,
        413: 413,
        415: 415,
        422: 422,
    }
    for response in answers.values():
        assert_secured(response)
    for path in ("/docs", "/redoc"):
        assert_secured(client.get(path), policy_of_its_own=True)


def test_a_server_error_carries_the_headers_too(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    def broken(_connection: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(stats, "stored_counts", broken)
    with TestClient(api.app, raise_server_exceptions=False) as client:
        response = client.get("/v1/stats")
    assert response.status_code == 500
    assert_secured(response)


async def test_the_middleware_adds_what_is_missing_and_keeps_what_is_set() -> None:
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"cache-control", b"max-age=60"), (b"content-type", b"text/html")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await SecurityHeadersMiddleware(app)({"type": "http", "method": "GET"}, receive, send)
    headers = dict(sent[0]["headers"])
    assert headers[b"cache-control"] == b"max-age=60"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert len(sent[0]["headers"]) == 2 + len(SECURITY_HEADERS) - 1
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}
