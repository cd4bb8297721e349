"""Fixtures of the pipeline service tests: the weather service and mock OWM in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_owm.app import create_app as create_mock_owm
from mock_owm.settings import MockOwmSettings
from services.weather_client import WeatherClientOptions, WeatherServiceClient
from tests.mock_owm.conftest import ADMIN_HEADERS, ADMIN_TOKEN
from weather_service.app import create_app as create_weather_service
from weather_service.migrate import migrate
from weather_service.settings import WeatherServiceSettings

WS_API_KEY = "pipeline-test-key-0123456789"
OWM_KEY = "mock-owm-key"
WS_BASE = "http://weather-service"
OWM_BASE = "http://mock-owm"


@dataclass
class WeatherService:
    http: httpx.AsyncClient
    client: WeatherServiceClient


@pytest.fixture
async def weather(tmp_path: Path) -> AsyncIterator[WeatherService]:
    url = f"sqlite:///{tmp_path}/weather.db"
    migrate(url)
    app = create_weather_service(
        WeatherServiceSettings(
            database_url=url,
            weather_service_api_keys=WS_API_KEY,
            weather_service_migrate_on_start=False,
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=WS_BASE) as http:
        client = WeatherServiceClient(
            http, WeatherClientOptions(base_url=WS_BASE, api_key=WS_API_KEY)
        )
        yield WeatherService(http=http, client=client)


@pytest.fixture
async def owm_http() -> AsyncIterator[httpx.AsyncClient]:
    """Mock OWM on the real clock (records it makes must not lie in the future)."""
    app = create_mock_owm(MockOwmSettings.load(admin_token=ADMIN_TOKEN))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=OWM_BASE) as http:
        yield http


async def owm_calls(http: httpx.AsyncClient, endpoint: str) -> int:
    stats: dict[str, Any] = (await http.get("/__stats", headers=ADMIN_HEADERS)).json()
    return int(stats["requests_by_endpoint"].get(endpoint, 0))


def trail(n: int) -> dict[str, Any]:
    return {
        "id": f"trail-{n:04d}",
        "name": f"Trail {n}",
        "lat": round(39.0 + n * 0.01, 4),
        "lon": round(-105.0 + n * 0.01, 4),
        "soil_drainage": "well",
    }


@dataclass(frozen=True)
class SourceUnderTest:
    """A weather source as the pipeline tests run it against the mock (which serves both)."""

    name: str  # WEATHER_SOURCE
    endpoints: tuple[str, ...]  # the mock's names of the endpoints it calls
    new_location_calls: int  # paid calls of a location with no history (mock: full days)

    def settings(self) -> dict[str, Any]:
        """Fetch settings overrides: this source, the mock, limits that never bind."""
        return {"weather_source": self.name, **SOURCE_SETTINGS[self.name]}

    def env(self, mock_url: str) -> dict[str, str]:
        """The same for a worker process."""
        if self.name == "owm":
            return {"WEATHER_SOURCE": "owm"}
        return {
            "WEATHER_SOURCE": self.name,
            "OPEN_METEO_BASE_URL": mock_url,
            "OPEN_METEO_RATE_LIMIT_PER_MINUTE": "1000000",
            "OPEN_METEO_RATE_LIMIT_PER_HOUR": "",
            "OPEN_METEO_RATE_LIMIT_PER_DAY": "",
        }

    def calls(self, stats: dict[str, Any]) -> int:
        """Paid calls of this source in a ``/__stats`` answer."""
        by_endpoint = stats["requests_by_endpoint"]
        return sum(int(by_endpoint.get(e, 0)) for e in self.endpoints)


SOURCE_SETTINGS: dict[str, dict[str, Any]] = {
    "owm": {},
    "open-meteo": {
        "open_meteo_base_url": OWM_BASE,
        "open_meteo_rate_limit_per_minute": 1000,
        "open_meteo_rate_limit_per_hour": None,
        "open_meteo_rate_limit_per_day": None,
    },
}
SOURCES = {
    "owm": SourceUnderTest("owm", ("onecall", "day_summary"), new_location_calls=4),
    "open-meteo": SourceUnderTest("open-meteo", ("forecast",), new_location_calls=1),
}


@pytest.fixture(params=sorted(SOURCES))
def source(request: pytest.FixtureRequest) -> SourceUnderTest:
    """Each weather source in turn: the pipeline's behaviour tests run for every one."""
    return SOURCES[request.param]


async def source_calls(http: httpx.AsyncClient, source: SourceUnderTest) -> int:
    stats: dict[str, Any] = (await http.get("/__stats", headers=ADMIN_HEADERS)).json()
    return source.calls(stats)


async def owm_total_calls(http: httpx.AsyncClient) -> int:
    stats: dict[str, Any] = (await http.get("/__stats", headers=ADMIN_HEADERS)).json()
    return int(stats["requests_total"])
