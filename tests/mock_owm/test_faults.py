"""Fault injection, configured at start or changed at run time through /__faults."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.mock_owm.conftest import KEY, ONECALL, ZURICH, mock_app_client, mock_client

FAULT_NAMES = {"error_rate", "latency_ms", "timeout_rate", "timeout_s", "malformed_rate",
               "429_rate", "retry_after_s", "rate_limit_per_minute", "rate_limit_per_day",
               "rate_limit_window_s", "api_keys", "seed", "now"}


async def call(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(ONECALL, params={**ZURICH, "appid": KEY})


async def set_faults(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/__faults", json=changes)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_get_faults_shows_every_setting(client: httpx.AsyncClient) -> None:
    body = (await client.get("/__faults")).json()
    assert set(body) == FAULT_NAMES
    assert body["api_keys"] == [KEY] and body["error_rate"] == 0.0 and body["timeout_s"] == 30.0
    assert body["now"] == "2024-01-15T12:00:00Z"


async def test_error_rate_one_makes_every_answer_a_5xx(client: httpx.AsyncClient) -> None:
    await set_faults(client, error_rate=1.0)
    codes = []
    for _ in range(20):
        response = await call(client)
        body = response.json()
        assert body["cod"] == response.status_code and isinstance(body["message"], str)
        codes.append(response.status_code)
    assert set(codes) <= {500, 502, 503} and len(set(codes)) > 1
    await set_faults(client, error_rate=0.0)
    assert (await call(client)).status_code == 200
    stats = (await client.get("/__stats")).json()
    assert stats["errors_injected"] == {"server_error": 20}
    assert stats["requests_total"] == 21  # faulted requests count too


async def test_malformed_answers_are_200_with_invalid_json(client: httpx.AsyncClient) -> None:
    await set_faults(client, malformed_rate=1.0)
    for _ in range(10):
        response = await call(client)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
    assert (await client.get("/__stats")).json()["errors_injected"] == {"malformed": 10}


async def test_injected_429_with_retry_after(client: httpx.AsyncClient) -> None:
    await set_faults(client, **{"429_rate": 1.0, "retry_after_s": 7})
    response = await call(client)
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["cod"] == 429
    assert response.json()["message"].startswith("Your account is temporary blocked")
    await set_faults(client, retry_after_s=None)
    assert "retry-after" not in (await call(client)).headers
    stats = (await client.get("/__stats")).json()
    assert stats["errors_injected"] == {"too_many_requests": 2}
    assert stats["keys"][KEY]["max_admitted_in_any_60s"] == 2  # the quota admitted them


async def test_timeouts_hang_past_the_client_deadline() -> None:
    async with mock_client(timeout_rate=1.0, timeout_s=0.3) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(call(client), timeout=0.05)
        late = await call(client)  # a patient client gets a gateway timeout in the end
        assert late.status_code == 504 and late.json()["cod"] == 504
        stats = (await client.get("/__stats")).json()
    assert stats["errors_injected"] == {"timeout": 2}


async def test_latency_delays_every_api_request(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def record(delay: float) -> None:
        waits.append(delay)

    async with mock_client(latency_ms=250) as client:
        monkeypatch.setattr("mock_owm.gate.asyncio.sleep", record)
        assert (await call(client)).status_code == 200
        assert (await client.get("/__faults")).status_code == 200  # control calls: no delay
    assert waits == [0.25]


async def test_fractions_are_shares_of_requests_and_seeded_runs_repeat() -> None:
    async with mock_client(seed=42) as client:
        await set_faults(client, error_rate=0.3, malformed_rate=0.2)
        first = [(await call(client)).status_code for _ in range(300)]
        injected = (await client.get("/__stats")).json()["errors_injected"]
        await set_faults(client, seed=42)
        second = [(await call(client)).status_code for _ in range(300)]
    assert first == second
    counts = Counter("5xx" if code >= 500 else code for code in first)
    assert counts["5xx"] == injected["server_error"] and 60 <= counts["5xx"] <= 120
    assert counts[200] == 300 - counts["5xx"]  # malformed answers are 200s too
    assert 35 <= injected["malformed"] <= 85


@pytest.mark.parametrize("changes", [
    {"error_rate": 1.5},
    {"error_rate": 0.6, "timeout_rate": 0.6},
    {"nope": 1},
    {"latency_ms": -1},
    {"timeout_s": 0},
    {"api_keys": ""},
    {"api_keys": [" "]},
    {"now": "not a time"},
    {"429_rate": "lots"},
])
async def test_bad_changes_are_refused_and_nothing_changes(client: httpx.AsyncClient,
                                                           changes: dict[str, Any]) -> None:
    before = (await client.get("/__faults")).json()
    response = await client.post("/__faults", json=changes)
    assert response.status_code == 422 and "detail" in response.json()
    assert (await client.get("/__faults")).json() == before


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b'"error_rate"'])
async def test_a_body_that_is_not_an_object_is_a_400(client: httpx.AsyncClient,
                                                     body: bytes) -> None:
    response = await client.post("/__faults", content=body,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400


async def test_keys_and_clock_change_at_run_time(client: httpx.AsyncClient) -> None:
    body = await set_faults(client, api_keys="k1,k2", now="2024-06-01T00:00:00Z")
    assert body["api_keys"] == ["k1", "k2"] and body["now"] == "2024-06-01T00:00:00Z"
    assert (await call(client)).status_code == 401
    response = await client.get(ONECALL, params={**ZURICH, "appid": "k2"})
    assert response.json()["current"]["dt"] == 1_717_200_000
    await set_faults(client, now=None)
    response = await client.get(ONECALL, params={**ZURICH, "appid": "k1"})
    assert abs(response.json()["current"]["dt"] - time.time()) < 3600  # the real clock
    reset = (await client.post("/__faults/reset")).json()
    assert reset["api_keys"] == [KEY] and reset["now"] == "2024-01-15T12:00:00Z"


async def test_admin_endpoints_are_never_faulted() -> None:
    async with mock_app_client(error_rate=1.0) as (_, client):
        assert (await client.get("/__health")).json() == {"status": "ok"}
        assert (await client.get("/__stats")).status_code == 200
        assert (await client.get("/__faults")).status_code == 200
