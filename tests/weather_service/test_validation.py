"""Bad input is a 4xx naming the field, and nothing of the request is written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.weather_service.conftest import (
    WRITE_HEADERS,
    Api,
    add_locations,
    at,
    condition,
    location,
    weather,
)
from weather_service.api import json_route

JSON_HEADERS = {**WRITE_HEADERS, "Content-Type": "application/json"}


def send_raw(api: Api, method: str, path: str, raw: bytes | str) -> Any:
    content = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return api.client.request(method, path, content=content, headers=JSON_HEADERS)


def first_error(response: Any) -> dict[str, Any]:
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    return dict(detail[0])


LOCATION_CASES = [
    ({"lat": 90.5}, "lat"),
    ({"lat": -91}, "lat"),
    ({"lon": 180.01}, "lon"),
    ({"lat": "40"}, "lat"),
    ({"lat": True}, "lat"),
    ({"elevation_m": 10**40}, "elevation_m"),
    ({"soil_drainage": "swampy"}, "soil_drainage"),
    ({"aspect": "north"}, "aspect"),
    ({"canopy": "jungle"}, "canopy"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "nul\x00byte"}, "name"),
    ({"name": "line\nbreak"}, "name"),
    ({"id": "has space"}, "id"),
    ({"id": "x" * 101}, "id"),
    ({"id": "-leading-dash"}, "id"),
    ({"colour": "green"}, "colour"),
]


@pytest.mark.parametrize(("fields", "field"), LOCATION_CASES)
def test_bad_location_field_is_named_and_nothing_is_written(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    good = location("trail-0001")
    bad = location("trail-0002", **fields)
    response = api.write("POST", "/v1/locations", {"locations": [good, bad]})
    assert response.status_code == 422, response.text
    assert first_error(response)["loc"] == ["body", "locations", 1, field]
    assert api.client.get("/v1/locations").json()["items"] == []


WEATHER_CASES = [
    ({"humidity_pct": 100.5}, "humidity_pct"),
    ({"humidity_pct": -1}, "humidity_pct"),
    ({"rain_mm": -0.1}, "rain_mm"),
    ({"snow_mm": -5}, "snow_mm"),
    ({"precipitation_mm": -1}, "precipitation_mm"),
    ({"pop": 1.5}, "pop"),
    ({"soil_moisture_m3m3": 1.01}, "soil_moisture_m3m3"),
    ({"soil_moisture_m3m3": -0.1}, "soil_moisture_m3m3"),
    ({"soil_moisture_m3m3": "0.3"}, "soil_moisture_m3m3"),
    ({"temperature_c": 1e308}, "temperature_c"),
    ({"weather_id": 2**80}, "weather_id"),
    ({"weather_id": 5.5}, "weather_id"),
    ({"kind": "guessed"}, "kind"),
    ({"hour": "2026-11-01T10:30:00Z"}, "hour"),
    ({"hour": "2026-11-01T10:00:00"}, "hour"),
    ({"hour": "0001-01-01T00:00:00Z"}, "hour"),
    ({"hour": "9999-12-31T23:00:00-05:00"}, "hour"),
    ({"hour": "not a time"}, "hour"),
    ({"hour": 10**30}, "hour"),
    ({"fetched_at": "2199-01-01T00:00:00Z"}, "fetched_at"),
    ({"source": "a\x00b"}, "source"),
    ({"source": "s" * 65}, "source"),
]


@pytest.mark.parametrize(("fields", "field"), WEATHER_CASES)
def test_bad_weather_field_is_named_and_nothing_is_written(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    add_locations(api, "trail-0001")
    records = [weather(0), weather(1, **fields)]
    response = api.write("PUT", "/v1/locations/trail-0001/weather", {"records": records})
    assert response.status_code == 422, response.text
    assert first_error(response)["loc"] == ["body", "records", 1, field]
    assert api.client.get("/v1/locations/trail-0001/weather").json()["items"] == []


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity", "1e999", "123456789012345678901234567890"]
)
def test_non_finite_and_huge_numbers_are_422_not_500(api: Api, literal: str) -> None:
    add_locations(api, "trail-0001")
    record = json.dumps(weather(0)).replace('"temperature_c": 4.5', f'"temperature_c": {literal}')
    raw = f'{{"records": [{record}]}}'
    response = send_raw(api, "PUT", "/v1/locations/trail-0001/weather", raw)
    assert response.status_code == 422, response.text
    assert first_error(response)["loc"] == ["body", "records", 0, "temperature_c"]


def test_lone_surrogates_and_escaped_nul_bytes_are_422(api: Api) -> None:
    for name in ('"\\ud800"', '"a\\u0000b"'):
        raw = f'{{"locations": [{{"id": "t-1", "name": {name}, "lat": 1, "lon": 2}}]}}'
        response = send_raw(api, "POST", "/v1/locations", raw)
        assert response.status_code == 422, response.text
        assert first_error(response)["loc"] == ["body", "locations", 0, "name"]


def test_condition_reasons_refuse_nul_bytes_and_non_finite_values(api: Api) -> None:
    add_locations(api, "trail-0001")
    for reason in ({"metric": "P\x0024"}, {"metric": "P24", "value": float("inf")}):
        body = {"conditions": [condition(0, reasons=[reason])]}
        content = json.dumps(body).encode()
        response = api.client.put(
            "/v1/locations/trail-0001/conditions", content=content, headers=JSON_HEADERS
        )
        assert response.status_code == 422, response.text
        assert first_error(response)["loc"][:5] == ["body", "conditions", 0, "reasons", 0]


UNREADABLE_BODIES = [
    b'{"locations": [',  # malformed JSON
    b'{"locations": [{"id": "t-1", "name": "\xff", "lat": 1, "lon": 2}]}',  # not UTF-8
    '{"locations": []}'.encode("utf-16"),  # JSON, but not in UTF-8
    b"\xef\xbb\xbf" + b'{"locations": []}',  # a byte-order mark
    b"[" * 100_000,  # nested beyond any decoder
    b'{"locations": [{"id": "t-1", "name": "n", "lat": 1' + b"0" * 5000 + b', "lon": 2}]}',
]


@pytest.mark.parametrize("raw", UNREADABLE_BODIES, ids=range(len(UNREADABLE_BODIES)))
def test_a_body_that_cannot_be_read_as_json_is_400(api: Api, raw: bytes) -> None:
    for method, path in (("POST", "/v1/locations"), ("POST", "/v1/weather/query")):
        response = send_raw(api, method, path, raw)
        assert response.status_code == 400, (path, response.text)
        assert response.json() == {"detail": json_route.UNREADABLE_BODY}
    assert api.client.get("/v1/locations").json()["items"] == []


def test_valid_json_that_fails_the_schema_is_422_not_400(api: Api) -> None:
    for raw in (b"[]", b'"text"', b"null", b'{"locations": [{"id": "t-1"}]}'):
        response = send_raw(api, "POST", "/v1/locations", raw)
        assert response.status_code == 422, (raw, response.text)
        assert first_error(response)["loc"][0] == "body"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_is_415(api: Api, content_type: str | None) -> None:
    body = json.dumps({"locations": [location("trail-0001")]}).encode()
    headers = {**WRITE_HEADERS, **({"Content-Type": content_type} if content_type else {})}
    response = api.client.post("/v1/locations", content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.json() == {"detail": json_route.NOT_JSON_MEDIA_TYPE}
    assert api.client.get("/v1/locations").json()["items"] == []
    for json_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        accepted = api.client.post(
            "/v1/locations", content=body, headers={**WRITE_HEADERS, "Content-Type": json_type}
        )
        assert accepted.status_code == 200, (json_type, accepted.text)


def test_empty_and_missing_bodies_are_422(api: Api) -> None:
    assert send_raw(api, "POST", "/v1/locations", b"").status_code == 422
    empty = api.write("POST", "/v1/locations", {"locations": []})
    assert empty.status_code == 422
    assert first_error(empty)["loc"] == ["body", "locations"]


def test_oversized_batch_is_422_naming_the_field(make_api: Any) -> None:
    api = make_api(weather_service_max_batch=10)
    add_locations(api, "trail-0001")
    response = api.write(
        "PUT", "/v1/locations/trail-0001/weather", {"records": [weather(h) for h in range(11)]}
    )
    assert response.status_code == 422
    error = first_error(response)
    assert error["loc"] == ["body", "records"]
    assert "at most 10" in error["msg"]
    assert (
        api.write(
            "PUT", "/v1/locations/trail-0001/weather", {"records": [weather(h) for h in range(10)]}
        ).status_code
        == 200
    )


def test_oversized_body_is_413(make_api: Any) -> None:
    api = make_api(weather_service_max_body_bytes=4096)
    many = {"locations": [location(f"t-{n}") for n in range(100)]}
    declared = api.write("POST", "/v1/locations", many)
    assert declared.status_code == 413

    def chunks() -> Any:
        for _ in range(10):
            yield b" " * 1000

    streamed = api.client.post("/v1/locations", content=chunks(), headers=JSON_HEADERS)
    assert streamed.status_code == 413
    assert api.client.get("/v1/locations").json()["items"] == []


def test_bad_path_and_query_values_are_422(api: Api) -> None:
    assert api.client.get("/v1/locations/bad%00id").status_code == 422
    assert api.client.get("/v1/locations/" + "x" * 101).status_code == 422
    add_locations(api, "trail-0001")
    for params in (
        {"start": "2026-01-01T00:00:00"},
        {"start": "99999-01-01T00:00:00Z"},
        {"kind": "guess"},
        {"limit": "10000000000000000000000"},
    ):
        response = api.client.get("/v1/locations/trail-0001/weather", params=params)
        assert response.status_code == 422, (params, response.text)


def test_validation_errors_do_not_echo_the_input(api: Api) -> None:
    secret = "s3cret-value-that-must-not-come-back"
    response = api.write("POST", "/v1/locations", {"locations": [location(name=secret, lat=99)]})
    assert response.status_code == 422
    assert secret not in response.text


MARK = "zq7mark"  # an id-shaped marker: valid where an id is, so it reaches every check
ODD_MARK = f"{MARK}'; DROP TABLE x; <b>"  # and one that no id pattern takes

ECHO_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", f"/v1/locations/{MARK}", {}),
    ("GET", f"/v1/locations/{MARK}/weather", {}),
    ("GET", f"/v1/locations/{MARK}/conditions", {}),
    ("GET", f"/v1/runs/{MARK}", {}),
    ("GET", f"/v1/locations/{ODD_MARK}", {}),
    ("GET", "/v1/locations", {"params": {"ids": f"trail-0001,{ODD_MARK}"}}),
    ("GET", "/v1/locations", {"params": {"bbox": ODD_MARK}}),
    ("GET", "/v1/locations", {"params": {"limit": ODD_MARK}}),
    ("GET", "/v1/locations", {"params": {"cursor": MARK}}),
    ("GET", "/v1/locations/trail-0001/weather", {"params": {"start": ODD_MARK}}),
    ("GET", "/v1/locations/trail-0001/weather", {"params": {"kind": ODD_MARK}}),
    ("GET", "/v1/conditions/latest", {"params": {"label": ODD_MARK, "at": MARK}}),
    ("PUT", f"/v1/locations/{MARK}/weather", {"json": {"records": [weather(0)]}}),
    ("PUT", f"/v1/locations/{MARK}/conditions", {"json": {"conditions": [condition(0)]}}),
    ("PUT", "/v1/weather", {"json": {"records": [weather(0, location_id=MARK)]}}),
    ("PUT", "/v1/conditions", {"json": {"conditions": [condition(0, location_id=MARK)]}}),
    ("PUT", "/v1/weather", {"json": {"records": [weather(0, location_id=ODD_MARK)]}}),
    ("PUT", "/v1/weather", {"json": {"records": [weather(0, kind=ODD_MARK, source=ODD_MARK)]}}),
    ("POST", "/v1/locations", {"json": {"locations": [location(ODD_MARK, aspect=ODD_MARK)]}}),
    ("POST", "/v1/locations", {"json": {"locations": [location(), location(name=f"a\n{MARK}")]}}),
    ("POST", "/v1/locations", {"json": {"locations": [{**location(), ODD_MARK: 1}]}}),
    ("POST", "/v1/runs", {"json": {"stage": "s", "counts": {ODD_MARK: 1}}}),
    ("POST", "/v1/runs", {"json": {"stage": "s", "counts": {"ok": ODD_MARK}}}),
    ("POST", "/v1/runs", {"json": {"run_id": "r-1", "stage": MARK}}),  # another stage: 409
    ("PATCH", f"/v1/runs/{MARK}", {"json": {"status": "failed"}}),
    ("PATCH", "/v1/runs/r-1", {"json": {"status": "running", "message": MARK}}),  # 409
    ("PATCH", "/v1/runs/r-1", {"json": {"status": ODD_MARK}}),
    ("POST", "/v1/weather/query", {"json": {"location_ids": [ODD_MARK], "start": MARK, "end": 1}}),
    ("POST", "/v1/weather/query",
     {"json": {"location_ids": ["a"], "start": at(0), "end": at(1), "fields": [ODD_MARK]}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), ECHO_CASES)
def test_no_4xx_answer_echoes_a_value_it_was_sent(
    api: Api, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    add_locations(api, "trail-0001")
    api.write("POST", "/v1/runs", {"run_id": "r-1", "stage": "fetch-weather", "status": "failed"})
    response = api.client.request(method, path, headers=WRITE_HEADERS, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert MARK not in response.text
    assert "DROP" not in response.text and "<b>" not in response.text


def test_a_client_chosen_name_is_shown_only_when_it_looks_like_a_name(api: Api) -> None:
    response = api.write("POST", "/v1/runs", {"stage": "s", "colour": 1, "a b": 2, "x" * 65: 3})
    assert response.status_code == 422
    locs = sorted(tuple(error["loc"]) for error in response.json()["detail"])
    assert locs == [("body", "<redacted>"), ("body", "<redacted>"), ("body", "colour")]


def test_timestamps_must_be_iso_text_not_unix_numbers(api: Api) -> None:
    add_locations(api, "trail-0001")
    for value in (0, 1_700_000_000, "1700000000", "0.5"):
        response = api.write(
            "PUT", "/v1/locations/trail-0001/weather", {"records": [weather(0, fetched_at=value)]}
        )
        assert response.status_code == 422, value
        assert first_error(response)["loc"] == ["body", "records", 0, "fetched_at"]
    query = api.client.get("/v1/locations/trail-0001/weather", params={"start": "0.5"})
    assert query.status_code == 422


def test_a_remembered_time_text_is_still_checked_against_the_clock(api: Api) -> None:
    """Time texts are parsed once and remembered; the future check still runs every time."""
    add_locations(api, "trail-0001")
    future = "2199-01-01T00:00:00Z"
    for _attempt in range(2):
        records = [weather(0, fetched_at=future), weather(1, fetched_at=future)]
        response = api.write("PUT", "/v1/locations/trail-0001/weather", {"records": records})
        assert response.status_code == 422, response.text
        assert first_error(response)["loc"] == ["body", "records", 0, "fetched_at"]
    assert api.client.get("/v1/locations/trail-0001/weather").json()["items"] == []


def test_remembered_times_stay_bounded_and_correct() -> None:
    from datetime import UTC, datetime, timedelta

    from pydantic import AwareDatetime, TypeAdapter

    from weather_service.models.common import PARSED_TIMES_MAX, _ParsedTimes, _to_utc_hour

    parse = TypeAdapter(AwareDatetime).validate_python
    hours = _ParsedTimes(_to_utc_hour)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(PARSED_TIMES_MAX + 10):
        hour = start + timedelta(hours=n)
        text = (hour + timedelta(hours=2)).isoformat().replace("+00:00", "+02:00")
        for _again in range(2):  # parsed, then remembered
            got = hours(text, parse)
            assert got == hour and got.utcoffset() == timedelta(0)
        assert len(hours._known) <= PARSED_TIMES_MAX
    with pytest.raises(ValueError, match="start of a UTC hour"):
        hours("2026-01-01T10:30:00Z", parse)
    with pytest.raises(ValueError, match="ISO 8601"):
        hours(1_700_000_000, parse)


def test_a_message_that_quotes_its_input_is_replaced() -> None:
    from weather_service.api.errors import GENERIC_MESSAGE, validation_detail

    errors = [
        {"loc": ("body", "x"), "msg": "Input 'sk-12345' is bad", "input": "sk-12345", "type": "t"},
        {"loc": ("query", "limit"), "msg": "Input should be at most 1000", "input": "5000",
         "type": "less_than_equal", "ctx": {"le": 1000}},
    ]
    assert validation_detail(errors) == [
        {"loc": ["body", "x"], "msg": GENERIC_MESSAGE, "type": "t"},
        {"loc": ["query", "limit"], "msg": "Input should be at most 1000",
         "type": "less_than_equal"},
    ]
