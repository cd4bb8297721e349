"""Fixtures of the weather service tests: every test that takes ``client`` or ``database_url`` runs
twice, on SQLite and on PostgreSQL (a fresh ``trail_etl_test_*`` database for the session;
skipped locally when no server answers, required under CI=true)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.postgres import admin_url, postgres_available, temporary_database
from tests.support.redis_server import require_or_skip
from weather_service.app import create_app
from weather_service.db.engine import make_engine
from weather_service.migrate import migrate
from weather_service.settings import WeatherServiceSettings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

API_KEY = "test-key-0123456789abcdef"
OTHER_KEY = "other-key-0123456789abcdef"
WRITE_HEADERS = {"X-API-Key": API_KEY}
TABLES = ("trail_conditions", "weather_hourly", "etl_runs", "locations")
BASE_HOUR = datetime(2026, 11, 1, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient`:UserWarning"
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of this session's own, dropped at the end."""
    require_or_skip(f"PostgreSQL at {admin_url()}", postgres_available())
    with temporary_database() as url:
        migrate(url)
        yield url


def _truncate(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An empty, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/weather.db"
        migrate(url)
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    yield url


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., WeatherServiceSettings]:
    def make(**overrides: Any) -> WeatherServiceSettings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "weather_service_api_keys": f"{API_KEY},{OTHER_KEY}",
            "weather_service_migrate_on_start": False,
        }
        values.update(overrides)
        return WeatherServiceSettings(**values)

    return make


@dataclass
class Api:
    """A test client plus the app behind it."""

    app: FastAPI
    client: TestClient

    def write(self, method: str, path: str, body: Any, **kwargs: Any) -> Any:
        return self.client.request(method, path, json=body, headers=WRITE_HEADERS, **kwargs)


@pytest.fixture
def make_api(make_settings: Callable[..., WeatherServiceSettings]) -> Iterator[Callable[..., Api]]:
    # Imported here, after pytest_configure filtered its import-time deprecation warning.
    from fastapi.testclient import TestClient

    opened: list[TestClient] = []

    def make(**overrides: Any) -> Api:
        app = create_app(make_settings(**overrides))
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return Api(app=app, client=client)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def client(api: Api) -> TestClient:
    return api.client


def location(location_id: str = "trail-0001", **fields: Any) -> dict[str, Any]:
    body = {"id": location_id, "name": f"Trail {location_id}", "lat": 39.7, "lon": -105.2}
    body.update(fields)
    return body


def weather(offset_h: int = 0, **fields: Any) -> dict[str, Any]:
    """An hourly record ``offset_h`` hours after BASE_HOUR, fetched a day before BASE_HOUR."""
    body: dict[str, Any] = {
        "hour": (BASE_HOUR + timedelta(hours=offset_h)).isoformat(),
        "kind": "forecast",
        "temperature_c": 4.5,
        "humidity_pct": 80.0,
        "wind_speed_ms": 3.0,
        "rain_mm": 0.4,
        "snow_mm": 0.0,
        "weather_id": 500,
        "pop": 0.6,
        "source": "owm-onecall-3.0",
        "fetched_at": (BASE_HOUR - timedelta(days=1)).isoformat(),
    }
    body.update(fields)
    return body


def condition(offset_h: int = 0, **fields: Any) -> dict[str, Any]:
    """A label for ``offset_h`` hours after BASE_HOUR, computed five minutes into that hour."""
    body: dict[str, Any] = {
        "valid_for": (BASE_HOUR + timedelta(hours=offset_h)).isoformat(),
        "label": "wet",
        "confidence": 0.7,
        "rule_id": "wet.p72",
        "reasons": [{"metric": "P72", "value": 6.2, "threshold": 5.0, "unit": "mm"}],
        "classifier_version": "1.0.0",
        "computed_at": (BASE_HOUR + timedelta(hours=offset_h, minutes=5)).isoformat(),
    }
    body.update(fields)
    return body


def at(offset_h: int, minutes: int = 0) -> str:
    """BASE_HOUR plus ``offset_h`` hours, as ISO 8601 text."""
    return (BASE_HOUR + timedelta(hours=offset_h, minutes=minutes)).isoformat()


def add_locations(api: Api, *ids: str) -> None:
    response = api.write("POST", "/v1/locations", {"locations": [location(i) for i in ids]})
    assert response.status_code == 200, response.text


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An empty database that has not been migrated, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    require_or_skip(f"PostgreSQL at {admin_url()}", postgres_available())
    with temporary_database() as url:
        yield url
