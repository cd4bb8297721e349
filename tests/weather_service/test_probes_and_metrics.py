from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.redis_server import free_port
from tests.weather_service.conftest import WRITE_HEADERS, Api, add_locations, location
from weather_service.app import create_app
from weather_service.settings import WeatherServiceSettings


def unreachable_url(backend: str, tmp_path: Any) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/no/such/dir/weather.db"
    return f"postgresql://postgres@127.0.0.1:{free_port()}/nothing_here"


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["schema_revision"] == "0002"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_database_down_makes_ready_503_and_writes_503_not_500(backend: str, tmp_path: Any) -> None:
    settings = WeatherServiceSettings(
        database_url=unreachable_url(backend, tmp_path),
        weather_service_api_keys=WRITE_HEADERS["X-API-Key"],
        weather_service_migrate_on_start=False,
        weather_service_db_connect_timeout_s=2,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        write = client.post("/v1/locations", json={"locations": [location()]},
                            headers=WRITE_HEADERS)
        assert write.status_code == 503
        assert write.headers["Retry-After"]
        assert client.get("/v1/locations").status_code == 503


def test_unmigrated_database_is_not_ready_until_the_service_migrates_it(
    fresh_database_url: str,
) -> None:
    base: dict[str, Any] = {"database_url": fresh_database_url,
            "weather_service_api_keys": WRITE_HEADERS["X-API-Key"]}
    cold = create_app(WeatherServiceSettings(**base, weather_service_migrate_on_start=False))
    with TestClient(cold) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        assert "needs 0002" in response.json()["detail"]

    migrating = create_app(WeatherServiceSettings(**base))
    with TestClient(migrating) as client:
        assert client.get("/ready").status_code == 200


def test_metrics_count_requests_by_route_template_and_status(make_api: Any) -> None:
    api: Api = make_api()
    other: Api = make_api()
    add_locations(api, "trail-0001")
    api.client.get("/v1/locations/trail-0001")
    api.client.get("/v1/locations/trail-0404")
    api.client.get("/no/such/route")

    text = api.client.get("/metrics").text

    assert (
        'weather_service_http_requests_total{method="GET",route="/v1/locations/{location_id}",'
        'status="200"} 1.0'
    ) in text
    assert 'route="/v1/locations/{location_id}",status="404"} 1.0' in text
    assert 'route="<unmatched>",status="404"} 1.0' in text
    assert (
        'weather_service_http_request_duration_seconds_count{method="POST",'
        'route="/v1/locations"} 1.0'
    ) in text
    assert 'weather_service_rows_written_total{kind="locations"} 1.0' in text
    assert "trail-0001" not in text
    assert 'route="/v1/locations"' not in other.client.get("/metrics").text


def test_request_ids_are_echoed_or_made_up(client: TestClient) -> None:
    echoed = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    made_up = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert made_up.headers["X-Request-ID"] not in {"", "bad id\twith spaces"}
