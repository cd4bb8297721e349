"""An async client for Open-Meteo's forecast API that works unchanged against the real service:
the free API (keyless), the commercial one (``apikey``) or a self-hosted instance.

Errors are translated where they enter our code (``services.fetch_weather.errors``):

* 400 -> ``SourceRequestRejected``, with Open-Meteo's ``reason`` (it names the parameter), except
  a refused ``apikey`` -> ``SourceAuthError`` (every task would fail: the stage pauses)
* 401, 403 -> ``SourceAuthError``
* 429 -> ``SourceRateLimited`` (its ``reason`` says which limit; no attempt spent)
* 5xx, timeouts, connection errors, a body that is not a JSON object -> ``SourceUnavailable``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from services.fetch_weather.errors import (
    DEFAULT_429_RETRY_AFTER_S,
    SourceAuthError,
    SourceRateLimited,
    SourceRequestRejected,
    SourceUnavailable,
)
from services.fetch_weather.provider_http import ProviderErrors, get_json
from services.http_transport import (
    HttpAnswer,
    HttpTransport,
    as_transport,
)

FORECAST_PATH = "/v1/forecast"
DEFAULT_TIMEOUT_S = 5.0
MAX_REASON_CHARS = 300
# What the transform reads. Open-Meteo counts a request of more than 10 variables as more than
# one call, so this list stays at 10 or fewer (tests/services/fetch_weather/open_meteo).
HOURLY_VARIABLES = (
    "temperature_2m",
    "relative_humidity_2m",
    "precipitation",
    "rain",
    "showers",
    "snowfall",
    "weather_code",
    "wind_speed_10m",
    "wind_gusts_10m",
    "soil_moisture_0_to_1cm",
)


class OpenMeteoAuthError(SourceAuthError):
    """The API key is refused (the commercial endpoint, or a self-hosted one that wants a key)."""


class OpenMeteoRequestRejected(SourceRequestRejected):
    """400: a parameter Open-Meteo refuses (its reason names it)."""


class OpenMeteoRateLimited(SourceRateLimited):
    """429: a minute, hour, day or month limit is used up (the reason says which)."""


class OpenMeteoUnavailable(SourceUnavailable):
    """5xx, a timeout, a dropped connection or a malformed answer."""


def _reason(response: HttpAnswer) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_REASON_CHARS]
    if isinstance(body, dict) and "reason" in body:
        return str(body["reason"])[:MAX_REASON_CHARS]
    return str(body)[:MAX_REASON_CHARS]


def _refuses_the_key(status: int, reason: str) -> bool:
    lowered = reason.lower()
    return status == 400 and ("apikey" in lowered or "api key" in lowered)


OPEN_METEO_ERRORS = ProviderErrors(
    auth=OpenMeteoAuthError,
    rejected=OpenMeteoRequestRejected,
    rate_limited=OpenMeteoRateLimited,
    unavailable=OpenMeteoUnavailable,
    message_of=_reason,
    key_hint="OPEN_METEO_API_KEY",
    is_auth=_refuses_the_key,
)


@dataclass(frozen=True)
class OpenMeteoClientOptions:
    base_url: str
    api_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    retry_after_429_s: float = DEFAULT_429_RETRY_AFTER_S


class OpenMeteoClient:
    """Every call is one request the provider counts (callers rate-limit them)."""

    def __init__(
        self, http: HttpTransport | httpx.AsyncClient, options: OpenMeteoClientOptions
    ) -> None:
        self._http = as_transport(http)
        self._options = options
        self._base = options.base_url.rstrip("/")

    def forecast_params(
        self,
        lat: float,
        lon: float,
        *,
        past_days: int,
        forecast_days: int,
        hourly: Sequence[str] = HOURLY_VARIABLES,
    ) -> dict[str, Any]:
        """The query of one forecast call: SI units (m/s, mm, degrees C), unix times, and the
        location's own time zone, so past days are its local days."""
        params: dict[str, Any] = {
            "latitude": lat,
            "longitude": lon,
            "hourly": ",".join(hourly),
            "past_days": past_days,
            "forecast_days": forecast_days,
            "timezone": "auto",
            "timeformat": "unixtime",
            "wind_speed_unit": "ms",
            "temperature_unit": "celsius",
            "precipitation_unit": "mm",
        }
        if self._options.api_key is not None:
            params["apikey"] = self._options.api_key
        return params

    async def forecast(
        self, lat: float, lon: float, *, past_days: int, forecast_days: int
    ) -> dict[str, Any]:
        """Hourly past and forecast in one call (``past_days`` before local today, then
        ``forecast_days`` from it)."""
        params = self.forecast_params(lat, lon, past_days=past_days, forecast_days=forecast_days)
        return await self._get(FORECAST_PATH, params)

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return await get_json(
            self._http,
            self._base + path,
            path,
            params,
            timeout_s=self._options.timeout_s,
            errors=OPEN_METEO_ERRORS,
            retry_after_429_s=self._options.retry_after_429_s,
        )
