"""GET /__stats and POST /__stats/reset."""

from __future__ import annotations

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


async def test_counts_per_endpoint_key_and_status() -> None:
    async with mock_app_client() as (_, client):
        await client.get(ONECALL, params={**ZURICH, "appid": KEY})
        await client.get(ONECALL, params={"appid": KEY})  # 400
        await client.get(ONECALL, params=ZURICH)  # 401, no key
        await client.get(ONECALL, params={**ZURICH, "appid": "nope"})  # 401, wrong key
        await client.get(TIMEMACHINE, params={**ZURICH, "dt": FIXED_NOW_S, "appid": KEY})
        await client.get(DAY_SUMMARY, params={**ZURICH, "date": "2024-01-01", "appid": KEY})
        await client.get(OVERVIEW, params={**ZURICH, "appid": KEY})
        await client.get("/data/3.0/unknown", params={"appid": KEY})  # 404
        stats = (await client.get("/__stats")).json()
    assert stats["requests_total"] == 7
    assert stats["requests_by_endpoint"] == {"onecall": 4, "timemachine": 1, "day_summary": 1,
                                             "overview": 1}
    assert stats["requests_by_key"] == {KEY: 5, "<missing>": 1, "<invalid>": 1}
    assert stats["status_codes"] == {"200": 4, "400": 1, "401": 2, "404": 1}
    assert stats["errors_injected"] == {}
    key = stats["keys"][KEY]
    assert key["requests"] == key["admitted"] == key["max_in_any_60s"] == 5
    assert key["in_last_60s"] == 5 and key["max_admitted_in_any_60s"] == 5
    assert set(stats["keys"]) == {KEY}  # rejected keys are not tracked: memory stays bounded
    assert stats["since"].endswith("Z")


async def test_reset_clears_everything_but_not_the_quota() -> None:
    async with mock_app_client(rate_limit_per_minute=2) as (_, client):
        for _ in range(3):
            await client.get(ONECALL, params={**ZURICH, "appid": KEY})
        reset = (await client.post("/__stats/reset")).json()
        assert reset["requests_total"] == 0 and reset["keys"] == {}
        assert reset["status_codes"] == {} and reset["requests_by_endpoint"] == {}
        response = await client.get(ONECALL, params={**ZURICH, "appid": KEY})
        assert response.status_code == 429  # the quota window still holds the two calls
        stats = (await client.get("/__stats")).json()
    assert stats["requests_total"] == 1 and stats["status_codes"] == {"429": 1}
    assert stats["keys"][KEY]["max_admitted_in_any_60s"] == 0


async def test_warm_generates_ahead_so_the_first_onecall_generates_nothing() -> None:
    places = [[47.3769, 8.5417], [39.74, -104.99], [-41.29, 174.78]]
    async with mock_app_client() as (mock, client):
        response = await client.post("/__warm", json={"locations": places})
        assert response.json() == {"locations": 3, "days": 24, "fits_in_cache": True}
        generated = mock.forecaster._day.cache_info().misses
        for lat, lon in places:
            assert (await client.get(ONECALL, params={"lat": lat, "lon": lon, "appid": KEY})
                    ).status_code == 200
        assert mock.forecaster._day.cache_info().misses == generated
        assert (await client.get("/__stats")).json()["requests_total"] == 3


async def test_warm_checks_its_input() -> None:
    async with mock_app_client() as (_, client):
        for body in ({"locations": [[91, 0]]}, {"locations": [[0]]}, {"places": []}):
            assert (await client.post("/__warm", json=body)).status_code == 422
