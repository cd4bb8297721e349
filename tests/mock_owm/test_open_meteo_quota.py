"""Open-Meteo's quotas: weighted calls per client in fixed minute, hour and day windows, 429s that
name the limit, refused calls that count for nothing. The mock's clocks are replaced, so no test
waits for a window to pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from mock_owm.app import create_app
from mock_owm.open_meteo_quota import (
    PER_HOUR,
    PER_MINUTE,
    UNITS_PER_CALL,
    OpenMeteoQuota,
    call_units,
)
from mock_owm.service import MockOwm
from mock_owm.settings import MockOwmSettings
from tests.mock_owm.conftest import (
    ADMIN_HEADERS,
    ADMIN_TOKEN,
    FIXED_NOW,
    FakeClock,
    mock_app_client,
)
from tests.mock_owm.open_meteo_support import FORECAST, ZURICH_OM

MINUTELY = "Minutely API request limit exceeded. Please try again in one minute."
HOURLY = "Hourly API request limit exceeded. Please try again in the next hour."
DAILY = "Daily API request limit exceeded. Please try again tomorrow."
DAY_S = 86_400.0
MIDNIGHT_S = 19_737 * DAY_S  # 2024-01-15T00:00:00Z: the windows start here
FIFTEEN = ("temperature_2m,relative_humidity_2m,dew_point_2m,apparent_temperature,precipitation,"
           "rain,showers,snowfall,snow_depth,weather_code,cloud_cover,wind_speed_10m,"
           "wind_gusts_10m,is_day,soil_moisture_0_to_1cm")
UNLIMITED = {"open_meteo_rate_limit_per_minute": None, "open_meteo_rate_limit_per_hour": None,
             "open_meteo_rate_limit_per_day": None}


@pytest.mark.parametrize(("variables", "days", "locations", "calls"), [
    (0, 7, 1, 1.0), (10, 14, 1, 1.0), (5, 16, 1, 1.0),
    (15, 14, 1, 1.5),  # Open-Meteo's own examples: 15 variables over 2 weeks are 1.5 calls,
    (15, 28, 1, 3.0),  # over 4 weeks 3.0
    (20, 7, 1, 2.0), (5, 108, 1, 5 / 10 * 108 / 14), (15, 14, 3, 4.5), (1, 0, 2, 2.0),
])
def test_call_weight(variables: int, days: int, locations: int, calls: float) -> None:
    units = call_units(variables=variables, days=days, locations=locations)
    assert units / UNITS_PER_CALL == pytest.approx(calls)


def test_fixed_windows_admit_below_the_limit_and_charge_after() -> None:
    quota = OpenMeteoQuota()

    def check(t: float) -> str | None:
        return quota.check("c", wall_s=MIDNIGHT_S + t, per_minute=3, per_hour=None, per_day=None)

    assert check(0.0) is None
    quota.charge("c", 2 * UNITS_PER_CALL + 70, wall_s=MIDNIGHT_S)  # 2.5 calls: still below 3
    assert check(1.0) is None
    quota.charge("c", 2 * UNITS_PER_CALL, wall_s=MIDNIGHT_S + 1)  # 4.5: one call went over
    assert check(59.999) == PER_MINUTE
    assert check(60.0) is None  # a new minute: fixed windows, not the last 60 s
    assert quota.check("other", wall_s=MIDNIGHT_S + 2, per_minute=3, per_hour=None,
                       per_day=None) is None


def test_memory_is_bounded() -> None:
    quota = OpenMeteoQuota(max_clients=3)
    for n in range(10):
        quota.charge(f"c{n}", UNITS_PER_CALL, wall_s=MIDNIGHT_S)
    assert len(quota._clients) == 3


@asynccontextmanager
async def limited(**settings: Any) -> AsyncIterator[tuple[MockOwm, httpx.AsyncClient, FakeClock,
                                                         FakeClock]]:
    """An app whose wall clock starts at MIDNIGHT_S and whose monotonic clock at 1,000 s; only the
    limits given apply."""
    async with mock_app_client(**{**UNLIMITED, **settings}) as (mock, client):
        wall, mono = FakeClock(MIDNIGHT_S), FakeClock(1_000.0)
        mock.wall_clock, mock.monotonic = wall, mono
        yield mock, client, wall, mono


async def call(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get(FORECAST, params={**ZURICH_OM, "forecast_days": 1, **params})


async def statuses(client: httpx.AsyncClient, n: int, **params: Any) -> list[int]:
    return [(await call(client, **params)).status_code for _ in range(n)]


async def test_per_minute_with_open_meteos_reason() -> None:
    async with limited(open_meteo_rate_limit_per_minute=3) as (_, client, wall, mono):
        assert await statuses(client, 3) == [200] * 3
        refused = await call(client)
        assert refused.status_code == 429
        assert refused.json() == {"error": True, "reason": MINUTELY}
        assert "retry-after" not in refused.headers
        wall.advance(59.0)
        mono.advance(59.0)
        assert await statuses(client, 1) == [429]  # the same minute
        wall.advance(1.0)
        assert await statuses(client, 4) == [200, 200, 200, 429]
        stats = (await client.get("/__stats")).json()
    assert stats["open_meteo"]["rate_limited"] == {PER_MINUTE: 3}
    assert stats["status_codes"] == {"200": 6, "429": 3}


async def test_per_hour_and_refused_calls_do_not_count() -> None:
    async with limited(open_meteo_rate_limit_per_minute=2,
                       open_meteo_rate_limit_per_hour=5) as (_, client, wall, _mono):
        assert await statuses(client, 12) == [200, 200] + [429] * 10
        wall.advance(60.0)
        # Ten refusals spent nothing: this minute has its two calls again.
        assert await statuses(client, 3) == [200, 200, 429]
        wall.advance(60.0)
        assert (await call(client)).status_code == 200  # the hour's fifth
        refused = await call(client)
        assert refused.status_code == 429 and refused.json()["reason"] == HOURLY
        wall.advance(60.0 * 57)  # 00:59: still the first hour
        assert (await call(client)).json()["reason"] == HOURLY
        wall.advance(60.0)  # 01:00 UTC
        assert await statuses(client, 3) == [200, 200, 429]
        stats = (await client.get("/__stats")).json()
    assert stats["open_meteo"]["rate_limited"] == {PER_MINUTE: 12, PER_HOUR: 2}
    assert stats["open_meteo"]["clients"]["ip:127.0.0.1"]["calls_charged"] == 7.0


async def test_per_day_resets_at_utc_midnight() -> None:
    async with limited(open_meteo_rate_limit_per_day=2, retry_after_s=3600) as (
            _, client, wall, _mono):
        wall.advance(DAY_S - 120.0)  # 23:58 UTC
        assert await statuses(client, 2) == [200, 200]
        refused = await call(client)
        assert refused.json() == {"error": True, "reason": DAILY}
        assert refused.headers["retry-after"] == "3600"
        wall.advance(119.0)
        assert (await call(client)).status_code == 429
        wall.advance(1.0)  # midnight
        assert await statuses(client, 3) == [200, 200, 429]


async def test_a_compressed_minute_compresses_the_hour_and_the_day() -> None:
    async with limited(open_meteo_rate_limit_per_minute=1, open_meteo_rate_limit_per_hour=3,
                       open_meteo_rate_limit_per_day=4, rate_limit_window_s=1.0) as (
            _, client, wall, _mono):
        reasons = []
        for _ in range(6):
            response = await call(client)
            reasons.append(response.json().get("reason", "ok") if response.status_code == 429
                           else "ok")
            response = await call(client)
            reasons.append(response.json().get("reason", "ok") if response.status_code == 429
                           else "ok")
            wall.advance(1.0)
        # Seconds 0-2: one call each; 3 to 59: the hour (60 s) is full.
        assert reasons == ["ok", MINUTELY] * 3 + [HOURLY] * 6
        wall.advance(60.0 - 6.0)  # the second "hour"
        assert (await call(client)).status_code == 200  # the day's fourth
        wall.advance(1.0)
        assert (await call(client)).json()["reason"] == DAILY
        wall.advance(1_440.0 - 61.0)  # the second "day" (1,440 windows)
        assert (await call(client)).status_code == 200


async def test_fractional_counting() -> None:
    async with limited(open_meteo_rate_limit_per_minute=3) as (_, client, wall, _mono):
        heavy = {"hourly": FIFTEEN, "forecast_days": 14}  # 1.5 calls
        assert [(await call(client, **heavy)).status_code for _ in range(3)] == [200, 200, 429]
        wall.advance(60.0)
        four_weeks = {"hourly": FIFTEEN, "past_days": 12, "forecast_days": 16}  # 3.0 calls
        assert (await call(client, **four_weeks)).status_code == 200
        assert (await call(client)).status_code == 429
        wall.advance(60.0)
        two_places = {"latitude": "47.3769,46.0", "longitude": "8.5417,7.0", "hourly": FIFTEEN,
                      "forecast_days": 14}  # 1.5 calls each
        assert (await call(client, **two_places)).status_code == 200
        assert (await call(client)).status_code == 429
        stats = (await client.get("/__stats")).json()
    om = stats["open_meteo"]
    assert om["calls_charged"] == 9.0
    assert om["clients"]["ip:127.0.0.1"]["max_calls_charged_in_any_60s"] == 9.0  # mono stood
    assert om["clients"]["ip:127.0.0.1"]["calls_charged"] == 9.0


async def test_a_call_heavier_than_the_hourly_limit_is_refused_outright() -> None:
    async with limited(open_meteo_rate_limit_per_hour=3) as (_, client, _wall, _mono):
        too_heavy = await call(client, hourly=FIFTEEN + ",uv_index", past_days=14,
                               forecast_days=14)  # 3.2 calls
        assert too_heavy.status_code == 400
        assert "too much data" in too_heavy.json()["reason"]
        response = await call(client, hourly=FIFTEEN, past_days=14, forecast_days=14)  # 3.0
        assert response.status_code == 200


async def test_quotas_are_per_client_and_per_key() -> None:
    limits = {**UNLIMITED, "open_meteo_rate_limit_per_minute": 2}
    app = create_app(MockOwmSettings.load(now=FIXED_NOW, admin_token=ADMIN_TOKEN, **limits))
    app.state.mock.wall_clock = FakeClock(MIDNIGHT_S)

    def client_at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 5000))
        return httpx.AsyncClient(transport=transport, base_url="http://mock-owm",
                                 headers=ADMIN_HEADERS)

    async with client_at("127.0.0.1") as client, client_at("10.0.0.7") as other_address:
        assert await statuses(client, 3) == [200, 200, 429]
        assert await statuses(client, 3, apikey="alpha") == [200, 200, 429]
        assert await statuses(client, 2, apikey="beta") == [200, 200]
        assert await statuses(other_address, 3) == [200, 200, 429]
        # A key is its own client, wherever it calls from.
        assert await statuses(other_address, 1, apikey="alpha") == [429]
        stats = (await client.get("/__stats")).json()
    clients = stats["open_meteo"]["clients"]
    assert set(clients) == {"ip:127.0.0.1", "apikey:alpha", "apikey:beta", "ip:10.0.0.7"}
    assert clients["apikey:alpha"]["rate_limited"] == 2
    assert clients["apikey:beta"]["rate_limited"] == 0


async def test_limits_change_at_run_time_and_default_to_the_free_api() -> None:
    async with mock_app_client() as (mock, client):
        faults = (await client.get("/__faults")).json()
        limits = [faults[f"open_meteo_rate_limit_per_{period}"]
                  for period in ("minute", "hour", "day")]
        assert limits == [600, 5_000, 10_000]
        assert faults["open_meteo_api_keys"] is None
        mock.wall_clock = FakeClock(MIDNIGHT_S)
        changed = await client.post("/__faults", json={"open_meteo_rate_limit_per_minute": 1})
        assert changed.json()["open_meteo_rate_limit_per_minute"] == 1
        assert await statuses(client, 2) == [200, 429]
        await client.post("/__faults", json={"open_meteo_rate_limit_per_minute": None})
        assert await statuses(client, 1) == [200]
        keys = await client.post("/__faults", json={"open_meteo_api_keys": "k1,k2"})
        assert keys.json()["open_meteo_api_keys"] == ["k1", "k2"]
        assert (await call(client, apikey="k3")).status_code == 400
        bad_changes: list[dict[str, Any]] = [
            {"open_meteo_rate_limit_per_hour": 0}, {"open_meteo_api_keys": []},
            {"open_meteo_rate_limit_per_day": "many"}]
        for bad in bad_changes:
            assert (await client.post("/__faults", json=bad)).status_code == 422


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_OWM_OPEN_METEO_RATE_LIMIT_PER_MINUTE", "")
    monkeypatch.setenv("MOCK_OWM_OPEN_METEO_RATE_LIMIT_PER_HOUR", "50")
    monkeypatch.setenv("MOCK_OWM_OPEN_METEO_API_KEYS", "a, b")
    settings = MockOwmSettings.load()
    assert settings.open_meteo_rate_limit_per_minute is None  # blank: unlimited
    assert settings.open_meteo_rate_limit_per_hour == 50
    assert settings.open_meteo_rate_limit_per_day == 10_000
    assert settings.runtime_config().open_meteo_api_keys == ("a", "b")
