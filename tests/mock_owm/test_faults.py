"""Fault injection, configured at start or changed at run time through /__faults."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.mock_owm.conftest import KEY, ONECALL, ZURICH, mock_app_client, mock_client

FAULT_NAMES = {"error_rate", "latency_ms", "timeout_rate", "timeout_s", "malformed_rate",
               "429_rate", "retry_after_s", "rate_limit_per_minute", "rate_limit_per_day",
               "rate_limit_window_s", "api_keys", "seed", "now",
               "open_meteo_rate_limit_per_minute", "open_meteo_rate_limit_per_hour",
               "open_meteo_rate_limit_per_day", "open_meteo_api_keys"}


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


@pytest.mark.parametrize(("changes", "named"), [
    ({"error_rate": 1.5}, ["error_rate"]),
    ({"error_rate": 0.6, "timeout_rate": 0.6}, []),  # together past 1: the message names them
    ({"nope": 1}, ["nope"]),
    ({"latency_ms": -1}, ["latency_ms"]),
    ({"timeout_s": 0}, ["timeout_s"]),
    ({"api_keys": ""}, ["api_keys"]),
    ({"api_keys": [" "]}, ["api_keys"]),
    ({"now": "not a time"}, ["now"]),
    ({"429_rate": "lots"}, ["429_rate"]),
])
async def test_bad_changes_are_refused_and_nothing_changes(client: httpx.AsyncClient,
                                                           changes: dict[str, Any],
                                                           named: list[str]) -> None:
    before = (await client.get("/__faults")).json()
    response = await client.post("/__faults", json=changes)
    assert response.status_code == 422
    body = response.json()
    assert body["cod"] == 422 and isinstance(body["message"], str) and body["message"]
    assert body.get("parameters", []) == named
    assert (await client.get("/__faults")).json() == before


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b'"error_rate"'])
async def test_a_body_that_is_not_an_object_is_a_400(client: httpx.AsyncClient,
                                                     body: bytes) -> None:
    response = await client.post("/__faults", content=body,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"cod": 400, "message": "the body must be a JSON object"}


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


# Each run-time knob just inside and just outside its bounds.
BOUNDS: list[tuple[str, Any, Any]] = [
    ("error_rate", 1.0, 1.0001),
    ("timeout_rate", 1.0, -0.1),
    ("malformed_rate", 0.0, 2),
    ("429_rate", 1.0, 1e12),
    ("latency_ms", 60_000, 1e12),
    ("latency_ms", 0, float("inf")),
    ("timeout_s", 600, 600.5),
    ("timeout_s", 0.001, 0),
    ("retry_after_s", 10**9, 10**9 + 1),
    ("retry_after_s", 0, -1),
    ("rate_limit_per_minute", 10_000_000, 10**12),
    ("rate_limit_per_minute", 1, 0),
    ("rate_limit_per_day", 1_000_000_000, 10**15),
    ("rate_limit_window_s", 3600, 1e9),
    ("seed", 2**63 - 1, 2**63),
    ("seed", 0, -1),
    ("now", "2099-12-31T23:59:59Z", "2100-01-01T00:00:00Z"),
    ("now", "1979-01-01T00:00:00Z", "1978-12-31T23:59:59Z"),
    ("api_keys", ["k" * 128], ["k" * 129]),
    ("api_keys", [f"key-{n}" for n in range(64)], [f"key-{n}" for n in range(65)]),
    ("api_keys", ["ok-key"], ["a key"]),
    ("api_keys", ["ok-key"], [1, 2]),
    ("error_rate", 0.5, "0.5"),  # a string is not a number here
    ("rate_limit_per_day", 100, 100.5),
]


@pytest.mark.parametrize(("name", "inside", "outside"), BOUNDS)
async def test_every_knob_is_bounded(client: httpx.AsyncClient, name: str, inside: Any,
                                     outside: Any) -> None:
    before = (await client.get("/__faults")).json()
    refused = await client.post("/__faults", content=json.dumps({name: outside}),
                                headers={"content-type": "application/json"})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["cod"] == 422 and body["parameters"] == [name]
    assert body["message"].startswith(f"{name}: ")
    if isinstance(outside, int | float) and math.isfinite(outside) and abs(outside) > 10**8:
        assert str(outside) not in body["message"] and str(int(outside)) not in body["message"]
    assert (await client.get("/__faults")).json() == before
    assert (await client.post("/__faults", json={name: inside})).status_code == 200


async def test_a_knob_name_from_the_client_is_cut_short(client: httpx.AsyncClient) -> None:
    response = await client.post("/__faults", json={"x" * 10_000: 1})
    assert response.status_code == 422
    assert len(response.text) < 500
