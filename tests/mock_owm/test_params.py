"""units, exclude and lang."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mock_owm.units import MPH_PER_MS
from tests.mock_owm.conftest import ZURICH, onecall

PLACES = [ZURICH, {"lat": -33.87, "lon": 151.21}, {"lat": 64.84, "lon": -147.72}]


def temperatures(entry: dict[str, Any]) -> list[float]:
    return [entry["temp"], entry["feels_like"], entry["dew_point"]]


@pytest.mark.parametrize("place", PLACES)
async def test_units_convert_temperature_and_wind_but_never_precipitation(
        client: httpx.AsyncClient, place: dict[str, float]) -> None:
    standard = await onecall(client, **place)
    metric = await onecall(client, **place, units="metric")
    imperial = await onecall(client, **place, units="imperial")
    for s, m, i in zip(standard["hourly"], metric["hourly"], imperial["hourly"], strict=True):
        for k, c, f in zip(temperatures(s), temperatures(m), temperatures(i), strict=True):
            assert k == pytest.approx(c + 273.15, abs=0.011)
            assert f == pytest.approx(c * 1.8 + 32, abs=0.015)  # both rounded to 0.01
        assert s["wind_speed"] == m["wind_speed"]
        assert i["wind_speed"] == pytest.approx(m["wind_speed"] * MPH_PER_MS, abs=0.03)
        assert s.get("rain") == m.get("rain") == i.get("rain")
        assert s.get("snow") == m.get("snow") == i.get("snow")
        assert s["pressure"] == m["pressure"] == i["pressure"]
    for s, m, i in zip(standard["daily"], metric["daily"], imperial["daily"], strict=True):
        assert s["temp"]["max"] == pytest.approx(m["temp"]["max"] + 273.15, abs=0.011)
        assert i["temp"]["min"] == pytest.approx(m["temp"]["min"] * 1.8 + 32, abs=0.015)
        assert s.get("rain") == m.get("rain") == i.get("rain")
    assert standard["minutely"] == metric["minutely"] == imperial["minutely"]


async def test_unknown_units_fall_back_to_standard(client: httpx.AsyncClient) -> None:
    assert await onecall(client, **ZURICH, units="furlongs") == await onecall(client, **ZURICH)


@pytest.mark.parametrize("part", ["current", "minutely", "hourly", "daily", "alerts"])
async def test_exclude_each_part(client: httpx.AsyncClient, part: str) -> None:
    full = await onecall(client, **ZURICH)
    body = await onecall(client, **ZURICH, exclude=part)
    assert part not in body
    for other in {"current", "minutely", "hourly", "daily"} - {part}:
        assert body[other] == full[other]


async def test_exclude_several_and_ignore_unknown_names(client: httpx.AsyncClient) -> None:
    body = await onecall(client, **ZURICH, exclude="current,minutely,hourly,daily,alerts,bogus")
    assert set(body) == {"lat", "lon", "timezone", "timezone_offset"}


@pytest.mark.parametrize(("lang", "clear_sky"), [
    ("de", "klarer Himmel"), ("fr", "ciel dégagé"), ("es", "cielo claro"), ("sp", "cielo claro"),
    ("DE", "klarer Himmel"), ("xx", "clear sky"), ("en", "clear sky"),
])
async def test_lang_translates_description_only(client: httpx.AsyncClient, lang: str,
                                                clear_sky: str) -> None:
    english = await onecall(client, **ZURICH)
    translated = await onecall(client, **ZURICH, lang=lang)
    pairs = [(e, t) for ed, td in zip(english["hourly"], translated["hourly"], strict=True)
             for e, t in zip(ed["weather"], td["weather"], strict=True)]
    for e, t in pairs:
        assert (e["id"], e["main"], e["icon"]) == (t["id"], t["main"], t["icon"])
    descriptions = {e["id"]: t["description"] for e, t in pairs}
    if 800 in descriptions:
        assert descriptions[800] == clear_sky
    if lang.lower() not in ("en", "xx"):
        assert any(e["description"] != t["description"] for e, t in pairs)
    assert english["hourly"][0]["temp"] == translated["hourly"][0]["temp"]
