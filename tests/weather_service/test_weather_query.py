"""POST /v1/weather/query: many locations' records over one range in one request."""

from __future__ import annotations

from typing import Any, get_type_hints

from tests.weather_service.conftest import Api, add_locations, at, weather
from weather_service.models.weather import (
    RECORD_FIELDS,
    QueriedRecordOut,
    WeatherQueryOut,
    WeatherRecordOut,
)


def hours(item: dict[str, Any]) -> list[str]:
    return [r["hour"].replace("Z", "+00:00") for r in item["records"]]


def query(api: Api, **body: Any) -> Any:
    return api.client.post("/v1/weather/query", json=body)


def test_returns_each_locations_records_in_range_oldest_first_and_names_missing_ids(
    api: Api,
) -> None:
    add_locations(api, "trail-0001", "trail-0002", "trail-0003")
    records = [{**weather(h), "location_id": "trail-0001"} for h in (3, 0, 1, 2, 9)]
    records += [{**weather(h), "location_id": "trail-0002"} for h in (1, 2)]
    assert api.write("PUT", "/v1/weather", {"records": records}).status_code == 200

    response = query(
        api,
        location_ids=["trail-0002", "trail-0001", "trail-0003", "nowhere"],
        start=at(1),
        end=at(9),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["missing"] == ["nowhere"]
    by_id = {item["location"]["id"]: item for item in body["items"]}
    assert list(by_id) == ["trail-0001", "trail-0002", "trail-0003"]
    assert hours(by_id["trail-0001"]) == [at(1), at(2), at(3)]
    assert hours(by_id["trail-0002"]) == [at(1), at(2)]
    assert by_id["trail-0003"]["records"] == []
    assert by_id["trail-0001"]["location"]["name"] == "Trail trail-0001"


def test_kind_filters_records(api: Api) -> None:
    add_locations(api, "trail-0001")
    records = [
        {**weather(0, kind="observed"), "location_id": "trail-0001"},
        {**weather(1), "location_id": "trail-0001"},
    ]
    api.write("PUT", "/v1/weather", {"records": records})

    body = query(api, location_ids=["trail-0001"], start=at(0), end=at(5), kind="observed").json()

    assert [r["kind"] for r in body["items"][0]["records"]] == ["observed"]


def test_bad_queries_are_refused_naming_the_problem(api: Api) -> None:
    add_locations(api, "trail-0001")
    cases = [
        ({"location_ids": [], "start": at(0), "end": at(1)}, "location_ids"),
        ({"location_ids": ["a"] * 2, "start": at(0), "end": at(1)}, "repeat"),
        ({"location_ids": ["trail-0001"], "start": at(2), "end": at(1)}, "end must be after"),
        ({"location_ids": ["trail-0001"], "start": at(0), "end": at(24 * 15)}, "at most"),
        ({"location_ids": ["trail-0001"], "start": "yesterday", "end": at(1)}, "start"),
        ({"location_ids": [f"t-{i}" for i in range(201)], "start": at(0), "end": at(1)}, "201"),
    ]
    for body, named in cases:
        response = query(api, **body)
        assert response.status_code == 422, (body, response.text)
        assert named in response.text, (named, response.text)


def test_records_and_locations_read_the_same_as_through_the_single_location_routes(
    api: Api,
) -> None:
    add_locations(api, "trail-0001", "trail-0002")
    records = [
        {**weather(h, kind=k, wind_gust_ms=None), "location_id": loc}
        for loc in ("trail-0001", "trail-0002")
        for h, k in ((0, "observed"), (1, "forecast"), (2, "forecast"))
    ]
    api.write("PUT", "/v1/weather", {"records": records})

    body = query(api, location_ids=["trail-0001", "trail-0002"], start=at(0), end=at(3)).json()

    WeatherQueryOut.model_validate(body)
    for item in body["items"]:
        location_id = item["location"]["id"]
        assert item["location"] == api.client.get(f"/v1/locations/{location_id}").json()
        listed = api.client.get(
            f"/v1/locations/{location_id}/weather", params={"start": at(0), "end": at(3)}
        ).json()["items"]
        assert item["records"] == listed


def test_the_answer_is_byte_for_byte_what_the_response_model_writes(api: Api) -> None:
    """The answer is serialized straight from the rows (orjson), not through the model: it must
    be exactly what ``WeatherQueryOut`` would have written (field order, "Z" times, floats)."""
    add_locations(api, "trail-0001", "trail-0002")
    records = [
        {**weather(h, temperature_c=-0.0 if h == 1 else 1 / 3, pop=None), "location_id": loc}
        for h in range(4)
        for loc in ("trail-0001", "trail-0002")
    ]
    records[0]["fetched_at"] = "2026-11-01T09:58:07.123456+02:00"
    assert api.write("PUT", "/v1/weather", {"records": records}).status_code == 200
    body = query(api, location_ids=["trail-0001", "trail-0002", "x"], start=at(0), end=at(4))
    assert body.status_code == 200, body.text
    model = WeatherQueryOut.model_validate_json(body.content)
    assert sum(len(item.records) for item in model.items) == 8
    assert model.model_dump_json().encode() == body.content


def test_the_record_fields_are_those_of_the_response_model() -> None:
    assert tuple(WeatherRecordOut.model_fields) == RECORD_FIELDS
    documented = get_type_hints(QueriedRecordOut)
    assert documented == {n: f.annotation for n, f in WeatherRecordOut.model_fields.items()}


def test_fields_returns_only_the_named_fields_in_the_usual_order(api: Api) -> None:
    add_locations(api, "trail-0001")
    api.write("PUT", "/v1/weather", {"records": [{**weather(0), "location_id": "trail-0001"}]})
    full = query(api, location_ids=["trail-0001"], start=at(0), end=at(1)).json()

    sparse = query(
        api,
        location_ids=["trail-0001"],
        start=at(0),
        end=at(1),
        fields=["temperature_c", "hour", "kind"],
    )

    assert sparse.status_code == 200, sparse.text
    [record] = sparse.json()["items"][0]["records"]
    assert list(record) == ["hour", "kind", "temperature_c"]
    [whole] = full["items"][0]["records"]
    assert list(whole) == list(RECORD_FIELDS)
    assert record == {f: whole[f] for f in ("hour", "kind", "temperature_c")}
    assert sparse.json()["items"][0]["location"] == full["items"][0]["location"]
    WeatherQueryOut.model_validate(sparse.json())


def test_bad_fields_are_refused_naming_the_problem(api: Api) -> None:
    add_locations(api, "trail-0001")
    base = {"location_ids": ["trail-0001"], "start": at(0), "end": at(1)}
    for fields, named in (
        (["hour", "colour"], '"loc":["body","fields",1],"msg":"Input should be \'location_id\''),
        (["hour", "hour"], "fields must not repeat"),
        ([], "fields"),
    ):
        response = query(api, **base, fields=fields)
        assert response.status_code == 422, (fields, response.text)
        assert named in response.text, (named, response.text)
