"""Determinism, and agreement between forecast (onecall) and history (timemachine, day_summary)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mock_owm.forecast import Forecaster
from mock_owm.responder import Responder
from mock_owm.units import units_for
from tests.mock_owm.conftest import (
    DAY_SUMMARY,
    FIXED_NOW_S,
    KEY,
    ONECALL,
    TIMEMACHINE,
    ZURICH,
    onecall,
)

PLACES = [ZURICH, {"lat": 45.8326, "lon": 6.8652}, {"lat": 39.74, "lon": -104.99},
          {"lat": -41.29, "lon": 174.78}, {"lat": 61.2181, "lon": -149.9003}]
REQUESTS = [
    (ONECALL, {"units": "metric", "lang": "de"}),
    (TIMEMACHINE, {"dt": FIXED_NOW_S - 3 * 86_400}),
    (DAY_SUMMARY, {"date": "2023-12-24", "tz": "-03:00"}),
]


async def test_same_request_same_bytes_and_two_instances_agree(make_client: Any) -> None:
    async with make_client() as first, make_client() as second:
        for place in PLACES:
            for path, extra in REQUESTS:
                params = {**place, **extra, "appid": KEY}
                a = await first.get(path, params=params)
                b = await first.get(path, params=params)
                c = await second.get(path, params=params)
                assert a.status_code == 200
                assert a.content == b.content == c.content


_DIGEST_SCRIPT = """
import hashlib
from mock_owm.forecast import Forecaster
from mock_owm.responder import Responder
from mock_owm.units import units_for
r = Responder(Forecaster())
body = r.onecall(47.3769, 8.5417, now_s={now}, units=units_for("metric"), lang="fr",
                 excluded=frozenset())
print(hashlib.sha256(body).hexdigest())
"""


def test_another_process_with_another_hash_seed_agrees() -> None:
    """Nothing depends on Python's per-process ``hash()`` salt, nor on what a process cached."""
    here = Responder(Forecaster()).onecall(47.3769, 8.5417, now_s=FIXED_NOW_S,
                                           units=units_for("metric"), lang="fr",
                                           excluded=frozenset())
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT.format(now=FIXED_NOW_S)],
                         env=env, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == hashlib.sha256(here).hexdigest()


async def test_http_body_is_the_generated_body(client: httpx.AsyncClient) -> None:
    response = await client.get(ONECALL, params={**ZURICH, "appid": KEY, "units": "metric",
                                                 "lang": "fr"})
    assert response.content == Responder(Forecaster()).onecall(
        47.3769, 8.5417, now_s=FIXED_NOW_S, units=units_for("metric"), lang="fr",
        excluded=frozenset())


@pytest.mark.parametrize("place", PLACES)
async def test_timemachine_equals_forecast_hours_and_current(client: httpx.AsyncClient,
                                                             place: dict[str, float]) -> None:
    body = await onecall(client, **place)
    for hour in body["hourly"][::4]:
        response = await client.get(TIMEMACHINE, params={**place, "dt": hour["dt"], "appid": KEY})
        entry = response.json()["data"][0]
        entry.pop("sunrise", None)
        entry.pop("sunset", None)
        assert entry == {k: v for k, v in hour.items() if k != "pop"}
    response = await client.get(TIMEMACHINE, params={**place, "dt": FIXED_NOW_S, "appid": KEY})
    assert response.json()["data"][0] == body["current"]


@pytest.mark.parametrize("place", PLACES)
async def test_day_summary_equals_daily(client: httpx.AsyncClient, place: dict[str, float]) -> None:
    body = await onecall(client, **place, units="metric")
    for day in body["daily"]:
        date = datetime.fromtimestamp(day["dt"] + body["timezone_offset"], UTC).date()
        response = await client.get(DAY_SUMMARY, params={**place, "date": date.isoformat(),
                                                         "units": "metric", "appid": KEY})
        summary = response.json()
        t = summary["temperature"]
        assert (t["min"], t["max"]) == (day["temp"]["min"], day["temp"]["max"])
        assert (t["afternoon"], t["night"], t["evening"], t["morning"]) == (
            day["temp"]["day"], day["temp"]["night"], day["temp"]["eve"], day["temp"]["morn"])
        total = round(day.get("rain", 0.0) + day.get("snow", 0.0), 2)
        assert summary["precipitation"]["total"] == pytest.approx(total, abs=1e-9)
        assert summary["pressure"]["afternoon"] == day["pressure"]
        assert summary["humidity"]["afternoon"] == day["humidity"]
        assert summary["wind"]["max"] == {"speed": day["wind_speed"],
                                          "direction": day["wind_deg"]}


@pytest.mark.parametrize("place", PLACES)
async def test_daily_aggregates_the_hours_of_its_local_date(client: httpx.AsyncClient,
                                                            place: dict[str, float]) -> None:
    body = await onecall(client, **place)
    offset = body["timezone_offset"]
    day = body["daily"][1]  # tomorrow: all its hours are in hourly[]
    date = (day["dt"] + offset) // 86_400
    hours = [h for h in body["hourly"] if (h["dt"] + offset) // 86_400 == date]
    assert len(hours) == 24
    assert day["temp"]["min"] == min(h["temp"] for h in hours)
    assert day["temp"]["max"] == max(h["temp"] for h in hours)
    assert day.get("rain", 0) == pytest.approx(sum(h.get("rain", {}).get("1h", 0) for h in hours))
    assert day.get("snow", 0) == pytest.approx(sum(h.get("snow", {}).get("1h", 0) for h in hours))
    assert day["pop"] == max(h["pop"] for h in hours)
    assert day["temp"]["day"] == hours[12]["temp"] and day["temp"]["morn"] == hours[6]["temp"]
    assert day.get("wind_gust", 0) == max(h.get("wind_gust", 0) for h in hours)


async def test_minutely_follows_the_hour(client: httpx.AsyncClient) -> None:
    for place in PLACES:
        body = await onecall(client, **place)
        rates = {h["dt"]: round(h.get("rain", {}).get("1h", 0) + h.get("snow", {}).get("1h", 0), 2)
                 for h in body["hourly"]}
        for minute in body["minutely"]:
            assert minute["precipitation"] == rates[minute["dt"] // 3600 * 3600]


async def test_what_was_forecast_is_what_is_later_observed(make_client: Any) -> None:
    later = datetime.fromtimestamp(FIXED_NOW_S + 30 * 3600, UTC).isoformat()
    async with make_client() as before, make_client(now=later) as after:
        for place in PLACES:
            forecast = await onecall(before, **place)
            observed = await onecall(after, **place)
            by_dt = {h["dt"]: h for h in observed["hourly"]}
            overlap = [h for h in forecast["hourly"] if h["dt"] in by_dt]
            assert len(overlap) == 18
            assert all(h == by_dt[h["dt"]] for h in overlap)
            days = {d["dt"]: d for d in observed["daily"]}
            assert all(d == days[d["dt"]] for d in forecast["daily"] if d["dt"] in days)


async def test_past_day_summary_aggregates_timemachine_hours(client: httpx.AsyncClient) -> None:
    midnight = int(datetime(2023, 12, 24, tzinfo=UTC).timestamp()) - 3600  # Zurich is UTC+1
    temps, precip = [], 0.0
    for hour in range(24):
        response = await client.get(TIMEMACHINE, params={**ZURICH, "dt": midnight + hour * 3600,
                                                         "appid": KEY})
        entry = response.json()["data"][0]
        temps.append(entry["temp"])
        precip += entry.get("rain", {}).get("1h", 0) + entry.get("snow", {}).get("1h", 0)
    response = await client.get(DAY_SUMMARY, params={**ZURICH, "date": "2023-12-24", "appid": KEY})
    summary = response.json()
    assert summary["temperature"]["min"] == min(temps)
    assert summary["temperature"]["max"] == max(temps)
    assert summary["precipitation"]["total"] == pytest.approx(round(precip, 2))
