from __future__ import annotations

from typing import Any

from tests.weather_service.conftest import Api, add_locations, at, weather


def stored(api: Api, location_id: str = "trail-0001", **params: Any) -> list[dict[str, Any]]:
    response = api.client.get(f"/v1/locations/{location_id}/weather", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def put(api: Api, records: list[dict[str, Any]], location_id: str = "trail-0001") -> Any:
    return api.write("PUT", f"/v1/locations/{location_id}/weather", {"records": records})


def test_posting_the_same_batch_twice_leaves_the_same_rows(api: Api) -> None:
    add_locations(api, "trail-0001")
    batch = [weather(h) for h in range(48)]
    assert put(api, batch).json() == {"received": 48, "written": 48}
    first = stored(api)

    again = put(api, batch)

    assert again.status_code == 200
    assert stored(api) == first
    assert len(first) == 48
    assert [r["hour"] for r in first] == sorted(r["hour"] for r in first)


def test_observed_replaces_forecast_and_a_later_forecast_never_replaces_observed(api: Api) -> None:
    add_locations(api, "trail-0001")
    put(api, [weather(0, kind="forecast", temperature_c=1.0, fetched_at=at(-5))])

    put(api, [weather(0, kind="observed", temperature_c=2.0, fetched_at=at(-4))])
    assert stored(api)[0]["kind"] == "observed"

    later_forecast = weather(0, kind="forecast", temperature_c=3.0, fetched_at=at(2))
    response = put(api, [later_forecast])

    assert response.json() == {"received": 1, "written": 0}
    [row] = stored(api)
    assert (row["kind"], row["temperature_c"]) == ("observed", 2.0)


def test_observed_replaces_a_forecast_fetched_later(api: Api) -> None:
    add_locations(api, "trail-0001")
    put(api, [weather(0, kind="forecast", temperature_c=1.0, fetched_at=at(3))])
    put(api, [weather(0, kind="observed", temperature_c=2.0, fetched_at=at(1))])
    [row] = stored(api)
    assert (row["kind"], row["temperature_c"]) == ("observed", 2.0)


def test_a_newer_forecast_replaces_an_older_one_and_not_the_reverse(api: Api) -> None:
    add_locations(api, "trail-0001")
    put(api, [weather(5, temperature_c=1.0, fetched_at=at(-10))])

    assert put(api, [weather(5, temperature_c=2.0, fetched_at=at(-9))]).json()["written"] == 1
    assert put(api, [weather(5, temperature_c=3.0, fetched_at=at(-20))]).json()["written"] == 0

    [row] = stored(api)
    assert row["temperature_c"] == 2.0
    assert row["fetched_at"] == at(-9).replace("+00:00", "Z")


def test_a_newer_observation_replaces_an_older_one(api: Api) -> None:
    add_locations(api, "trail-0001")
    put(api, [weather(0, kind="observed", rain_mm=1.0, fetched_at=at(1))])
    put(api, [weather(0, kind="observed", rain_mm=2.0, fetched_at=at(2))])
    put(api, [weather(0, kind="observed", rain_mm=9.0, fetched_at=at(0))])
    assert stored(api)[0]["rain_mm"] == 2.0


def test_within_one_batch_the_same_precedence_applies(api: Api) -> None:
    add_locations(api, "trail-0001")
    batch = [
        weather(0, kind="observed", temperature_c=1.0, fetched_at=at(-3)),
        weather(0, kind="forecast", temperature_c=2.0, fetched_at=at(-1)),
        weather(1, kind="forecast", temperature_c=3.0, fetched_at=at(-1)),
        weather(1, kind="forecast", temperature_c=4.0, fetched_at=at(-2)),
        weather(2, kind="forecast", temperature_c=5.0, fetched_at=at(-2)),
        weather(2, kind="forecast", temperature_c=6.0, fetched_at=at(-2)),
    ]
    response = put(api, batch)
    assert response.json() == {"received": 6, "written": 3}
    assert [r["temperature_c"] for r in stored(api)] == [1.0, 3.0, 6.0]


def test_timestamps_are_stored_in_utc_and_precipitation_defaults_to_rain_plus_snow(
    api: Api,
) -> None:
    add_locations(api, "trail-0001")
    record = weather(0, rain_mm=1.5, snow_mm=0.25)
    record["hour"] = "2026-11-01T02:00:00+02:00"
    record["fetched_at"] = "2026-10-31T19:30:00.123456-05:00"
    put(api, [record])
    [row] = stored(api)
    assert row["hour"] == "2026-11-01T00:00:00Z"
    assert row["fetched_at"] == "2026-11-01T00:30:00.123456Z"
    assert row["precipitation_mm"] == 1.75


def test_batch_endpoint_writes_many_locations_in_one_request(api: Api) -> None:
    add_locations(api, "trail-0001", "trail-0002")
    records = [weather(h, location_id=f"trail-000{1 + h % 2}") for h in range(10)]
    response = api.write("PUT", "/v1/weather", {"records": records})
    assert response.json() == {"received": 10, "written": 10}
    assert len(stored(api, "trail-0001")) == len(stored(api, "trail-0002")) == 5


def test_unknown_location_writes_nothing(api: Api) -> None:
    add_locations(api, "trail-0001")

    single = put(api, [weather(0)], location_id="trail-4040")
    assert single.status_code == 404

    records = [weather(0, location_id="trail-0001"), weather(1, location_id="trail-4040")]
    batch = api.write("PUT", "/v1/weather", {"records": records})
    assert batch.status_code == 422
    [error] = batch.json()["detail"]
    assert error["loc"] == ["body", "records", 1, "location_id"]
    assert error["type"] == "unknown_location"
    assert "trail-4040" not in batch.text  # the loc names the item; the id is not echoed
    assert stored(api) == []


def test_listing_filters_by_time_window_and_kind_and_pages_through(api: Api) -> None:
    add_locations(api, "trail-0001")
    records = [weather(h, kind="observed" if h < 24 else "forecast") for h in range(72)]
    put(api, records)

    window = stored(api, start=at(10), end=at(20))
    assert [r["hour"] for r in window] == [at(h).replace("+00:00", "Z") for h in range(10, 20)]
    assert len(stored(api, kind="forecast")) == 48
    assert len(stored(api, kind="observed", start=at(20))) == 4

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/locations/trail-0001/weather", params=params).json()
        seen.extend(r["hour"] for r in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 72 and seen == sorted(set(seen))


def test_listing_weather_of_an_unknown_location_is_404(client: Any) -> None:
    assert client.get("/v1/locations/trail-4040/weather").status_code == 404


def test_end_before_start_is_422(api: Api) -> None:
    add_locations(api, "trail-0001")
    response = api.client.get(
        "/v1/locations/trail-0001/weather", params={"start": at(5), "end": at(1)}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "end"]


def test_soil_moisture_is_stored_read_back_and_null_when_not_given(api: Api) -> None:
    add_locations(api, "trail-0001")
    without = weather(1)
    assert "soil_moisture_m3m3" not in without
    put(api, [weather(0, soil_moisture_m3m3=0.375), without, weather(2, soil_moisture_m3m3=1)])
    assert [r["soil_moisture_m3m3"] for r in stored(api)] == [0.375, None, 1.0]

    # A replacing record replaces the soil moisture too, with null when it has none.
    put(api, [weather(0, kind="observed", fetched_at=at(1))])
    assert stored(api)[0]["soil_moisture_m3m3"] is None

    answer = api.client.post(
        "/v1/weather/query",
        json={
            "location_ids": ["trail-0001"],
            "start": at(0),
            "end": at(3),
            "fields": ["soil_moisture_m3m3", "hour"],
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"][0]["records"] == [
        {"hour": at(h).replace("+00:00", "Z"), "soil_moisture_m3m3": value}
        for h, value in ((0, None), (1, None), (2, 1.0))
    ]


def test_the_api_docs_describe_soil_moisture_in_and_out(api: Api) -> None:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    given = schemas["WeatherRecordIn"]["properties"]["soil_moisture_m3m3"]
    assert {"type": "number", "minimum": 0.0, "maximum": 1.0} in given["anyOf"]
    assert "m³" in given["description"] and "null" in given["description"]
    for name in ("WeatherRecordOut", "QueriedRecordOut", "LocatedWeatherRecordIn"):
        assert "soil_moisture_m3m3" in schemas[name]["properties"], name
    fields = schemas["WeatherQuery"]["properties"]["fields"]["anyOf"][0]["items"]["enum"]
    assert "soil_moisture_m3m3" in fields
