"""An async client for OpenWeatherMap One Call 3.0 that works unchanged against the real service.

Errors are translated where they enter our code:

* 400, 404 -> ``OwmRequestRejected`` (permanent: the same request will fail again)
* 401, 403 -> ``OwmAuthError`` (our key refused: no task can succeed, so the stage pauses until
  a trial call passes; the tasks wait, none is dead-lettered)
* 429      -> ``OwmRateLimited`` (wait, spend no attempt; ``Retry-After`` honoured when present,
  up to an hour; without one the gate waits for the shared limiter's next free permit)
* 5xx, timeouts, connection errors, a body that is not the JSON we expect -> ``OwmUnavailable``
  (transient)

Precipitation is always mm whatever ``units`` says; the client always asks for metric units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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

ONECALL_PATH = "/data/3.0/onecall"
DAY_SUMMARY_PATH = "/data/3.0/onecall/day_summary"
ONECALL_UNUSED_PARTS = ("minutely", "daily", "alerts")
DEFAULT_TIMEOUT_S = 5.0
MAX_ERROR_BODY_CHARS = 300


class OwmAuthError(SourceAuthError):
    """401/403: no key, a wrong key, a key not yet active, or no One Call subscription."""


class OwmRequestRejected(SourceRequestRejected):
    """400 or 404: a parameter is out of range or there is no data for it."""


class OwmRateLimited(SourceRateLimited):
    """429: OpenWeatherMap says the key's quota is exceeded."""


class OwmUnavailable(SourceUnavailable):
    """5xx, a timeout, a dropped connection or a malformed answer."""


def _error_message(response: HttpAnswer) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_ERROR_BODY_CHARS]
    if not isinstance(body, dict):
        return str(body)[:MAX_ERROR_BODY_CHARS]
    message = str(body.get("message", ""))[:MAX_ERROR_BODY_CHARS]
    parameters = body.get("parameters")
    if isinstance(parameters, list) and parameters:
        message += f" (parameters: {', '.join(map(str, parameters))})"
    return message


OWM_ERRORS = ProviderErrors(
    auth=OwmAuthError,
    rejected=OwmRequestRejected,
    rate_limited=OwmRateLimited,
    unavailable=OwmUnavailable,
    message_of=_error_message,
    key_hint="OWM_API_KEY",
)


@dataclass(frozen=True)
class OwmClientOptions:
    base_url: str
    api_key: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    retry_after_429_s: float = DEFAULT_429_RETRY_AFTER_S
    units: str = "metric"


class OwmClient:
    """One method per endpoint; every call is one paid request (callers rate-limit them)."""

    def __init__(self, http: HttpTransport | httpx.AsyncClient, options: OwmClientOptions) -> None:
        self._http = as_transport(http)
        self._options = options
        self._base = options.base_url.rstrip("/")

    async def onecall(
        self, lat: float, lon: float, *, exclude: tuple[str, ...] = ONECALL_UNUSED_PARTS
    ) -> dict[str, Any]:
        """Current weather and the 48-hour hourly forecast (one paid call). The parts the pipeline
        does not store are excluded: the same price, a smaller answer to send and decode."""
        params: dict[str, Any] = {"lat": lat, "lon": lon}
        if exclude:
            params["exclude"] = ",".join(exclude)
        return await self._get(ONECALL_PATH, params)

    async def day_summary(self, lat: float, lon: float, day: date) -> dict[str, Any]:
        return await self._get(DAY_SUMMARY_PATH, {"lat": lat, "lon": lon, "date": day.isoformat()})

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        query = {**params, "units": self._options.units, "appid": self._options.api_key}
        return await get_json(
            self._http,
            self._base + path,
            path,
            query,
            timeout_s=self._options.timeout_s,
            errors=OWM_ERRORS,
            retry_after_429_s=self._options.retry_after_429_s,
        )
