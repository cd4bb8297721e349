from __future__ import annotations

from typing import Any

from tests.weather_service.conftest import Api, add_locations, location


def walk(api: Api, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Follow next_cursor from the first page to the last; return every item in order."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = api.client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def test_upsert_creates_then_reports_nothing_written_for_the_same_batch(api: Api) -> None:
    batch = {"locations": [location("trail-0001", soil_drainage="well"), location("trail-0002")]}
    first = api.write("POST", "/v1/locations", batch)
    assert first.json() == {"received": 2, "written": 2}
    before = api.client.get("/v1/locations/trail-0001").json()

    second = api.write("POST", "/v1/locations", batch)

    assert second.json() == {"received": 2, "written": 0}
    assert api.client.get("/v1/locations/trail-0001").json() == before
    assert len(walk(api, "/v1/locations", 10)) == 2


def test_upsert_updates_changed_fields_and_keeps_created_at(api: Api) -> None:
    api.write("POST", "/v1/locations", {"locations": [location("trail-0001")]})
    before = api.client.get("/v1/locations/trail-0001").json()

    changed = location("trail-0001", name="Renamed", aspect="S", canopy="forest", elevation_m=2450)
    response = api.write("POST", "/v1/locations", {"locations": [changed]})

    assert response.json()["written"] == 1
    after = api.client.get("/v1/locations/trail-0001").json()
    assert (after["name"], after["aspect"], after["canopy"], after["elevation_m"]) == (
        "Renamed", "S", "forest", 2450.0,
    )
    assert after["soil_drainage"] is None
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] >= before["updated_at"]


def test_the_last_of_duplicate_ids_in_one_batch_wins(api: Api) -> None:
    batch = [location("trail-0001", name="First"), location("trail-0001", name="Second")]
    response = api.write("POST", "/v1/locations", {"locations": batch})
    assert response.json() == {"received": 2, "written": 1}
    assert api.client.get("/v1/locations/trail-0001").json()["name"] == "Second"


def test_unknown_location_is_404(client: Any) -> None:
    response = client.get("/v1/locations/trail-9999")
    assert response.status_code == 404
    assert response.json() == {"detail": "location not found"}  # the id asked for is not echoed


def test_pagination_walks_every_location_exactly_once_in_id_order(api: Api) -> None:
    ids = [f"trail-{n:04d}" for n in range(137)]
    add_locations(api, *reversed(ids))

    for limit in (1, 7, 50, 137, 1000):
        seen = [item["id"] for item in walk(api, "/v1/locations", limit)]
        assert seen == sorted(ids)


def test_filter_by_ids_and_by_bounding_box(api: Api) -> None:
    places = [
        location("boulder", lat=40.01, lon=-105.27),
        location("golden", lat=39.75, lon=-105.22),
        location("moab", lat=38.57, lon=-109.55),
        location("chamonix", lat=45.92, lon=6.87),
    ]
    api.write("POST", "/v1/locations", {"locations": places})

    by_ids = walk(api, "/v1/locations", 1, ids="moab,boulder,nowhere")
    assert [item["id"] for item in by_ids] == ["boulder", "moab"]

    front_range = walk(api, "/v1/locations", 1, bbox="-106,39,-105,40.5")
    assert [item["id"] for item in front_range] == ["boulder", "golden"]

    both = walk(api, "/v1/locations", 5, bbox="-110,38,-105,40", ids="golden,moab,chamonix")
    assert [item["id"] for item in both] == ["golden", "moab"]


def test_bad_filters_and_cursors_are_422_naming_the_parameter(api: Api) -> None:
    add_locations(api, "trail-0001", "trail-0002")
    cases = {
        "bbox": "1,2,3",
        "ids": "ok,not ok",
        "cursor": "!!!",
        "limit": "0",
    }
    for name, value in cases.items():
        response = api.client.get("/v1/locations", params={name: value})
        assert response.status_code == 422, (name, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", name]
    for bbox in ("nan,0,1,1", "10,0,-10,1", "0,50,1,40", "-200,0,1,1"):
        response = api.client.get("/v1/locations", params={"bbox": bbox})
        assert response.status_code == 422, bbox
    foreign_cursor = "WyJ3ZWF0aGVyIiwieCJd"  # ["weather","x"]: another listing's cursor
    foreign = api.client.get("/v1/locations", params={"cursor": foreign_cursor})
    assert foreign.status_code == 422
    assert foreign.json()["detail"][0]["loc"] == ["query", "cursor"]
