"""Every documented error: 401, 400 with ``parameters``, 404 — exact OpenWeatherMap bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.mock_owm.conftest import (
    DAY_SUMMARY,
    FIXED_NOW_S,
    KEY,
    ONECALL,
    OVERVIEW,
    TIMEMACHINE,
    ZURICH,
    mock_app_client,
)

BODY_401 = {"cod": 401, "message": "Invalid API key. Please see "
            "https://openweathermap.org/faq#error401 for more info."}
ENDPOINTS = [ONECALL, TIMEMACHINE, DAY_SUMMARY, OVERVIEW]


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    return await client.get(path, params=params)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("appid", [None, "", "wrong-key", "MOCK-OWM-KEY"])
async def test_401_for_missing_or_wrong_key_before_anything_else(
        client: httpx.AsyncClient, path: str, appid: str | None) -> None:
    params: dict[str, Any] = {"lat": "not-a-number"}  # the key is checked first
    if appid is not None:
        params["appid"] = appid
    response = await get(client, path, **params)
    assert response.status_code == 401
    assert response.json() == BODY_401
    assert response.headers["content-type"].startswith("application/json")


async def test_configured_keys_are_accepted(make_client: Any) -> None:
    async with make_client(api_keys="alpha, beta") as client:
        for key in ("alpha", "beta"):
            assert (await get(client, ONECALL, **ZURICH, appid=key)).status_code == 200
        assert (await get(client, ONECALL, **ZURICH, appid=KEY)).status_code == 401


@pytest.mark.parametrize(("params", "bad"), [
    ({}, ["lat", "lon"]),
    ({"lon": 8.5}, ["lat"]),
    ({"lat": 47.3}, ["lon"]),
    ({"lat": 90.0001, "lon": 8.5}, ["lat"]),
    ({"lat": -91, "lon": 8.5}, ["lat"]),
    ({"lat": 47.3, "lon": 180.5}, ["lon"]),
    ({"lat": "abc", "lon": "nan"}, ["lat", "lon"]),
    ({"lat": "", "lon": "inf"}, ["lat", "lon"]),
])
@pytest.mark.parametrize("path", [ONECALL, OVERVIEW])
async def test_400_names_bad_coordinates(client: httpx.AsyncClient, path: str,
                                         params: dict[str, Any], bad: list[str]) -> None:
    response = await get(client, path, **params, appid=KEY)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"cod", "message", "parameters"}
    assert body["cod"] == 400 and body["parameters"] == bad and body["message"]


async def test_coordinate_limits_are_inclusive(client: httpx.AsyncClient) -> None:
    for lat, lon in ((90, 180), (-90, -180)):
        assert (await get(client, ONECALL, lat=lat, lon=lon, appid=KEY)).status_code == 200


@pytest.mark.parametrize(("dt", "ok"), [
    (283_996_800, True),  # 1979-01-01T00:00:00Z
    (283_996_799, False),
    (FIXED_NOW_S + 4 * 86_400, True),
    (FIXED_NOW_S + 4 * 86_400 + 1, False),
    ("", False),
    ("12.5", False),
    ("yesterday", False),
])
async def test_timemachine_dt_range(client: httpx.AsyncClient, dt: Any, ok: bool) -> None:
    response = await get(client, TIMEMACHINE, **ZURICH, dt=dt, appid=KEY)
    if ok:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.json()["parameters"] == ["dt"]


async def test_timemachine_lists_every_bad_parameter(client: httpx.AsyncClient) -> None:
    response = await get(client, TIMEMACHINE, lat=100, lon=8.5, appid=KEY)
    assert response.status_code == 400
    assert response.json()["parameters"] == ["lat", "dt"]


@pytest.mark.parametrize(("date", "ok"), [
    ("1979-01-02", True),
    ("1979-01-01", False),
    ("2025-07-15", True),  # FIXED_NOW 2024-01-15 + 547 days (1.5 years)
    ("2025-07-16", False),
    ("2024-02-30", False),
    ("20240115", False),
    ("2024-1-5", False),
    (None, False),
])
async def test_day_summary_date_range(client: httpx.AsyncClient, date: str | None,
                                      ok: bool) -> None:
    params: dict[str, Any] = {**ZURICH, "appid": KEY}
    if date is not None:
        params["date"] = date
    response = await client.get(DAY_SUMMARY, params=params)
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400
        assert response.json()["parameters"] == ["date"]


@pytest.mark.parametrize(("tz", "ok"), [
    ("+05:30", True), ("-08:00", True), ("+14:00", True), ("+00:00", True),
    ("+14:30", False), ("05:30", False), ("+5:30", False), ("+05:60", False), ("UTC", False),
])
async def test_day_summary_tz(client: httpx.AsyncClient, tz: str, ok: bool) -> None:
    response = await get(client, DAY_SUMMARY, **ZURICH, date="2024-01-10", tz=tz, appid=KEY)
    if ok:
        assert response.status_code == 200 and response.json()["tz"] == tz
    else:
        assert response.status_code == 400 and response.json()["parameters"] == ["tz"]


@pytest.mark.parametrize("date", ["2024-01-14", "2024-01-17", "someday"])
async def test_overview_only_today_or_tomorrow(client: httpx.AsyncClient, date: str) -> None:
    response = await get(client, OVERVIEW, **ZURICH, date=date, appid=KEY)
    assert response.status_code == 400
    assert response.json()["parameters"] == ["date"]


@pytest.mark.parametrize("path", ["/data/3.0/weather", "/data/3.0/onecall/history", "/"])
async def test_404_for_unknown_paths(client: httpx.AsyncClient, path: str) -> None:
    response = await get(client, path, appid=KEY)
    assert response.status_code == 404
    body = response.json()
    assert body == {"cod": 404, "message": "Internal error: the requested resource was not found"}


async def test_a_bug_in_the_mock_is_an_owm_500_not_a_crash() -> None:
    async with mock_app_client() as (mock, client):

        def broken(*args: Any, **kwargs: Any) -> bytes:
            raise RuntimeError("boom")

        mock.responder.onecall = broken  # type: ignore[method-assign]
        response = await get(client, ONECALL, **ZURICH, appid=KEY)
        assert response.status_code == 500
        assert response.json() == {"cod": 500, "message": "Internal error"}
        assert (await client.get("/__stats")).json()["status_codes"] == {"500": 1}


@pytest.mark.parametrize(("method", "path"), [
    ("POST", ONECALL), ("DELETE", TIMEMACHINE), ("PUT", DAY_SUMMARY), ("PATCH", OVERVIEW),
    ("DELETE", "/__faults"), ("GET", "/__warm"), ("POST", "/__health"),
])
async def test_405_for_a_wrong_method_in_owm_shape(client: httpx.AsyncClient, method: str,
                                                   path: str) -> None:
    response = await client.request(method, path, params={**ZURICH, "appid": KEY})
    assert response.status_code == 405
    assert response.json() == {"cod": 405, "message": "Method Not Allowed"}
    assert response.headers["content-type"].startswith("application/json")
    assert "allow" in response.headers


@pytest.mark.parametrize("body", [
    {"locations": [[91, 0]]},
    {"locations": [["47.3", "8.5"]]},
    {"locations": [[47.3]]},
    {"locations": [[47.3, 8.5]], "units": "x" * 1000},
    {"places": []},
    {},
])
async def test_422_of_a_bad_body_in_owm_shape(client: httpx.AsyncClient,
                                              body: dict[str, Any]) -> None:
    response = await client.post("/__warm", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert set(payload) == {"cod", "message", "parameters"} and payload["cod"] == 422
    assert payload["parameters"] and all(isinstance(p, str) for p in payload["parameters"])
    assert "x" * 100 not in response.text  # the value given is not echoed


async def test_a_body_that_is_not_json_is_a_422_in_owm_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/__warm", content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["cod"] == 422
