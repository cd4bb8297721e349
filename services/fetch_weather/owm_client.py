"""An async client for OpenWeatherMap One Call 3.0 that works unchanged against the real service.

Errors are translated where they enter our code:

* 400, 404 -> ``OwmRequestRejected`` (permanent: the same request will fail again)
* 401, 403 -> ``OwmAuthError`` (our key refused: no task can succeed, so the stage pauses until
  a trial call passes; the tasks wait, none is dead-lettered)
* 429      -> ``OwmRateLimited`` (wait, spend no attempt; ``Retry-After`` honoured when present,
  up to an hour; without one ``OwmGate`` waits for the shared limiter's next free permit)
* 5xx, timeouts, connection errors, a body that is not the JSON we expect -> ``OwmUnavailable``
  (transient)

Precipitation is always mm whatever ``units`` says; the client always asks for metric units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from etl_core.errors import PermanentError, RateLimited, StageBlocked, TransientError
from services.http_transport import (
    HttpAnswer,
    HttpTimeout,
    HttpTransport,
    HttpTransportError,
    as_transport,
)

ONECALL_PATH = "/data/3.0/onecall"
TIMEMACHINE_PATH = "/data/3.0/onecall/timemachine"
DAY_SUMMARY_PATH = "/data/3.0/onecall/day_summary"
ONECALL_UNUSED_PARTS = ("minutely", "daily", "alerts")
DEFAULT_TIMEOUT_S = 5.0
# A 429 without Retry-After waits no longer than this: the quota frees a permit within a minute
# (OwmGate asks the shared limiter when; this is the wait when nobody can tell).
DEFAULT_429_RETRY_AFTER_S = 60.0
# A provider's Retry-After is honoured up to an hour: longer is more likely a broken header than a
# plan (OWM's day cap ends at midnight UTC), and a task asking again hourly costs one refused call.
MAX_RETRY_AFTER_S = 3600.0
MAX_ERROR_BODY_CHARS = 300


class OwmAuthError(StageBlocked):
    """401/403: no key, a wrong key, a key not yet active, or no One Call subscription."""


class OwmRequestRejected(PermanentError):
    """400 or 404: a parameter is out of range or there is no data for it."""


class OwmRateLimited(RateLimited):
    """429: the provider says the quota is exceeded. ``from_header``: ``retry_after_s`` is the
    provider's own ``Retry-After`` (else a default the gate may shorten)."""

    def __init__(
        self,
        message: str = "",
        *,
        retry_after_s: float = DEFAULT_429_RETRY_AFTER_S,
        from_header: bool = False,
    ) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.from_header = from_header


class OwmUnavailable(TransientError):
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


def _retry_after_s(response: HttpAnswer) -> float | None:
    """The ``Retry-After`` header in seconds (at most ``MAX_RETRY_AFTER_S``), None without one."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(max(0.0, float(value)), MAX_RETRY_AFTER_S)
    except ValueError:
        return None  # an HTTP date: rare for APIs; treated as absent


class OwmAnswer(dict[str, Any]):
    """A decoded answer that keeps the bytes it was decoded from (``raw``), so the answer cache
    stores them as they came instead of encoding the answer again."""

    __slots__ = ("raw",)

    def __init__(self, body: dict[str, Any], raw: bytes) -> None:
        super().__init__(body)
        self.raw = raw


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

    async def timemachine(self, lat: float, lon: float, dt_unix: int) -> dict[str, Any]:
        return await self._get(TIMEMACHINE_PATH, {"lat": lat, "lon": lon, "dt": dt_unix})

    async def day_summary(self, lat: float, lon: float, day: date) -> dict[str, Any]:
        return await self._get(DAY_SUMMARY_PATH, {"lat": lat, "lon": lon, "date": day.isoformat()})

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        query = {**params, "units": self._options.units, "appid": self._options.api_key}
        try:
            response = await self._http.request(
                "GET", self._base + path, params=query, timeout_s=self._options.timeout_s
            )
        except HttpTimeout as exc:
            raise OwmUnavailable(f"{path}: timed out after {self._options.timeout_s} s") from exc
        except HttpTransportError as exc:
            raise OwmUnavailable(f"{path}: {exc}") from exc
        status = response.status
        if status == 200:
            try:
                body = response.json()
            except ValueError as exc:
                raise OwmUnavailable(f"{path}: answer is not valid JSON ({exc})") from None
            if not isinstance(body, dict):
                raise OwmUnavailable(f"{path}: answer is not a JSON object")
            return OwmAnswer(body, response.body)
        message = f"{path}: HTTP {status}: {_error_message(response)}"
        if status in (401, 403):
            raise OwmAuthError(f"{message} (check OWM_API_KEY)")
        if status == 429:
            said_s = _retry_after_s(response)
            raise OwmRateLimited(
                message,
                retry_after_s=self._options.retry_after_429_s if said_s is None else said_s,
                from_header=said_s is not None,
            )
        if status >= 500:
            raise OwmUnavailable(message, retry_after_s=_retry_after_s(response) or None)
        raise OwmRequestRejected(message)
