from __future__ import annotations

from typing import Any

from tests.weather_service.conftest import Api, add_locations, at, condition


def put(api: Api, conditions: list[dict[str, Any]], location_id: str = "trail-0001") -> Any:
    return api.write("PUT", f"/v1/locations/{location_id}/conditions", {"conditions": conditions})


def history(api: Api, location_id: str = "trail-0001", **params: Any) -> list[dict[str, Any]]:
    response = api.client.get(f"/v1/locations/{location_id}/conditions", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def latest(api: Api, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.client.get("/v1/conditions/latest", params=query)
        assert response.status_code == 200, response.text
        items.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def test_conditions_round_trip_with_reasons_and_window(api: Api) -> None:
    add_locations(api, "trail-0001")
    label = condition(
        0,
        label="muddy",
        confidence=0.62,
        rule_id="muddy.p24",
        reasons=[
            {"metric": "P24", "value": 14.2, "threshold": 12.7, "unit": "mm"},
            {"metric": "soil_drainage", "value": "poorly"},
            {"metric": "raining_now", "value": True},
        ],
        window_start=at(-72),
        window_end=at(0),
    )
    assert put(api, [label]).json() == {"received": 1, "written": 1}
    [row] = history(api)
    assert row["label"] == "muddy" and row["confidence"] == 0.62
    assert row["reasons"] == [
        {"metric": "P24", "value": 14.2, "threshold": 12.7, "unit": "mm"},
        {"metric": "soil_drainage", "value": "poorly", "threshold": None, "unit": None},
        {"metric": "raining_now", "value": True, "threshold": None, "unit": None},
    ]
    assert row["window_start"] == at(-72).replace("+00:00", "Z")


def test_the_later_computation_wins_and_reposting_changes_nothing(api: Api) -> None:
    add_locations(api, "trail-0001")
    put(api, [condition(0, label="wet", computed_at=at(0, 10))])
    assert put(api, [condition(0, label="dry", computed_at=at(0, 20))]).json()["written"] == 1
    assert put(api, [condition(0, label="icy", computed_at=at(0, 15))]).json()["written"] == 0
    snapshot = history(api)
    put(api, [condition(0, label="dry", computed_at=at(0, 20))])
    assert history(api) == snapshot
    assert [row["label"] for row in snapshot] == ["dry"]


def test_history_is_oldest_first_filtered_and_paged(api: Api) -> None:
    add_locations(api, "trail-0001")
    put(api, [condition(h) for h in range(30)])
    assert [r["valid_for"] for r in history(api, start=at(5), end=at(8))] == [
        at(h).replace("+00:00", "Z") for h in (5, 6, 7)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/locations/trail-0001/conditions", params=query).json()
        seen.extend(r["valid_for"] for r in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 30 and seen == sorted(set(seen))


def test_latest_is_one_row_per_location_the_newest_valid_for(api: Api) -> None:
    ids = [f"trail-{n:03d}" for n in range(25)]
    add_locations(api, *ids, "trail-unlabelled")
    for n, location_id in enumerate(ids):
        labels = [
            condition(0, label="wet"),
            condition(1, label="muddy" if n % 3 == 0 else "dry"),
        ]
        put(api, labels, location_id)

    rows = latest(api, limit=4)

    assert [r["location_id"] for r in rows] == ids
    assert {r["valid_for"] for r in rows} == {at(1).replace("+00:00", "Z")}
    muddy = latest(api, limit=3, label="muddy")
    assert [r["location_id"] for r in muddy] == ids[::3]
    at_first_hour = latest(api, at=at(0, 30))
    assert {r["label"] for r in at_first_hour} == {"wet"} and len(at_first_hour) == 25


def test_batch_conditions_and_unknown_locations(api: Api) -> None:
    add_locations(api, "trail-0001", "trail-0002")
    good = [condition(0, location_id="trail-0001"), condition(0, location_id="trail-0002")]
    assert api.write("PUT", "/v1/conditions", {"conditions": good}).json()["written"] == 2

    bad = [condition(1, location_id="trail-0001"), condition(1, location_id="trail-4040")]
    response = api.write("PUT", "/v1/conditions", {"conditions": bad})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "conditions", 1, "location_id"]
    assert len(history(api)) == 1
    assert put(api, [condition(0)], "trail-4040").status_code == 404
    assert api.client.get("/v1/locations/trail-4040/conditions").status_code == 404


def test_bad_condition_fields_are_named(api: Api) -> None:
    add_locations(api, "trail-0001")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"label": "slushy"}, "label"),
        ({"confidence": 1.01}, "confidence"),
        ({"valid_for": at(0, 30)}, "valid_for"),
        ({"reasons": [{"metric": "x"}] * 51}, "reasons"),
        ({"classifier_version": ""}, "classifier_version"),
    ]
    for fields, field in cases:
        response = put(api, [condition(0, **fields)])
        assert response.status_code == 422, fields
        assert response.json()["detail"][0]["loc"] == ["body", "conditions", 0, field]
    reversed_window = condition(0, window_start=at(0), window_end=at(-1))
    response = put(api, [reversed_window])
    assert response.status_code == 422
    assert "window_start" in response.json()["detail"][0]["msg"]
    assert history(api) == []
