"""Bodies validated straight from their bytes (``model_validate_json``) accept and refuse exactly
what FastAPI's own path (decode, then validate the objects) does, and give the same models."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from tests.weather_service.conftest import Api, add_locations, condition, location, weather
from weather_service.api import json_route
from weather_service.models.conditions import ConditionsBatchUpsert
from weather_service.models.locations import LocationsUpsert
from weather_service.models.runs import RunPatch
from weather_service.models.weather import WeatherBatchUpsert, WeatherQuery

# Values a client might send for a field, right or wrong: every one is tried in every field.
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    500,
    500.0,
    4.5,
    -0.0,
    "4.5",
    "500",
    "",
    "observed",
    "Observed",
    "2026-11-01T10:00:00Z",
    "2026-11-01T10:00:00+02:00",
    "2026-11-01T10:00:00",
    "2026-11-01",
    "2026-11-01 10:00:00Z",
    1_793_000_000,
    [],
    {},
    {"1h": 1.0},
    "a\u0000b",
    2**70,
]


def _by_objects(model: type[BaseModel], body: bytes) -> BaseModel | None:
    try:
        # as FastAPI's ModelField.validate calls it
        adapter = TypeAdapter(model)
        return adapter.validate_python(json_route._decode(body, None), from_attributes=True)
    except ValidationError:
        return None


def _by_bytes(model: type[BaseModel], body: bytes) -> BaseModel | None:
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


def _variants(item: dict[str, Any]) -> list[dict[str, Any]]:
    out = [item]
    for field in item:
        out += [{**item, field: value} for value in ODD_VALUES]
        out.append({k: v for k, v in item.items() if k != field})
    out.append({**item, "unexpected": 1})
    return out


CASES: list[tuple[type[BaseModel], str, dict[str, Any]]] = [
    (WeatherBatchUpsert, "records", {**weather(0), "location_id": "trail-0001"}),
    (ConditionsBatchUpsert, "conditions", {**condition(0), "location_id": "trail-0001"}),
    (LocationsUpsert, "locations", location("trail-0001", elevation_m=1650.0, aspect="N")),
]


@pytest.mark.parametrize(("model", "key", "item"), CASES, ids=[c[0].__name__ for c in CASES])
def test_bytes_and_objects_agree_on_every_odd_value(
    model: type[BaseModel], key: str, item: dict[str, Any]
) -> None:
    verdicts = []
    for variant in _variants(item):
        body = json.dumps({key: [variant]}).encode()
        slow, fast = _by_objects(model, body), _by_bytes(model, body)
        assert (slow is None) == (fast is None), (variant, slow, fast)
        assert slow == fast, variant
        verdicts.append(fast is not None)
    assert len(verdicts) > len(ODD_VALUES) * len(item)
    assert verdicts[0] and 0 < sum(verdicts) < len(verdicts) / 2  # the base is good, most are not


@pytest.mark.parametrize(
    "body",
    [
        {
            "location_ids": ["trail-0001"],
            "start": "2026-11-01T00:00:00Z",
            "end": "2026-11-01T05:00Z",
        },
        {"location_ids": ["a", "a"], "start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00Z"},
        {"location_ids": ["t"], "start": 0, "end": 3600, "fields": ["hour", "hour"]},
        {"location_ids": ["t"], "start": "2026-11-01", "end": "2026-11-02", "fields": ["hour"]},
        {
            "location_ids": ["t"],
            "start": "2026-11-01T00:00Z",
            "end": "2026-11-02T00:00Z",
            "kind": 1,
        },
    ],
)
def test_bytes_and_objects_agree_on_queries(body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    assert _by_objects(WeatherQuery, raw) == _by_bytes(WeatherQuery, raw)


def test_a_patch_keeps_which_fields_were_sent() -> None:
    raw = orjson.dumps({"status": "succeeded"})
    slow, fast = _by_objects(RunPatch, raw), _by_bytes(RunPatch, raw)
    assert slow is not None and fast is not None
    assert slow.model_fields_set == fast.model_fields_set == {"status"}


def test_json_that_pydantic_refuses_falls_back_to_the_usual_decoding() -> None:
    assert json_route._decode(b'{"records": [1]}', WeatherBatchUpsert) == {"records": [1]}
    nan = json_route._decode(b'{"records": [{"temperature_c": NaN}]}', WeatherBatchUpsert)
    assert json.dumps(nan) == '{"records": [{"temperature_c": NaN}]}'
    good = orjson.dumps({"records": [{**weather(0), "location_id": "trail-0001"}]})
    assert isinstance(json_route._decode(good, WeatherBatchUpsert), WeatherBatchUpsert)
    assert json_route._decode(good, None) == orjson.loads(good)


def test_a_good_batch_is_validated_once_from_its_bytes(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_locations(api, "trail-0001")
    seen: list[type[BaseModel] | None] = []
    decode = json_route._decode

    def spy(body: bytes, model: type[BaseModel] | None) -> Any:
        seen.append(model)
        return decode(body, model)

    monkeypatch.setattr(json_route, "_decode", spy)
    records = [{**weather(h), "location_id": "trail-0001"} for h in range(3)]
    response = api.write("PUT", "/v1/weather", {"records": records})
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 3, "written": 3}
    assert seen == [WeatherBatchUpsert]
