"""An async client for the weather service, with errors translated where they enter our code.

* 5xx, timeouts, connection errors -> ``WeatherServiceUnavailable`` (transient; ``Retry-After``
  honoured)
* 401, 403 -> ``WeatherServiceAuthError`` (our write key refused: the stage pauses until a trial
  passes, as for every failure that no task of it could get past)
* 404      -> ``WeatherServiceNotFound`` (permanent)
* 422 and other 4xx -> ``WeatherServiceRejected`` (permanent; names the offending fields)

With a ``breaker`` (the workers'), every request goes through it: while it is open a request
raises ``BreakerOpen`` at once, and the task waits without spending an attempt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from etl_core.breaker import CircuitBreaker
from etl_core.errors import PermanentError, StageBlocked, TransientError
from services.http_transport import (
    HttpAnswer,
    HttpTimeout,
    HttpTransport,
    HttpTransportError,
    as_transport,
)

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRY_AFTER_S = 5.0
LOCATIONS_PAGE_SIZE = 500
WEATHER_PAGE_SIZE = 5000
MAX_ERROR_CHARS = 300
API_KEY_HEADER = "X-API-Key"


class WeatherServiceUnavailable(TransientError):
    """5xx, a timeout or a dropped connection."""


class WeatherServiceAuthError(StageBlocked):
    """401/403: the key in WEATHER_SERVICE_API_KEY is missing or wrong."""


class WeatherServiceNotFound(PermanentError):
    """404: an unknown location or run."""


class WeatherServiceRejected(PermanentError):
    """422 (or another 4xx): the request is invalid and will fail again."""


@dataclass(frozen=True)
class WeatherClientOptions:
    base_url: str
    api_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S


def _retry_after_s(response: HttpAnswer) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER_S)))
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


def _detail(response: HttpAnswer) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_ERROR_CHARS]
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):
        fields = [
            ".".join(str(p) for p in item.get("loc", ())) + f" ({item.get('msg', '')})"
            for item in detail[:10]
            if isinstance(item, dict)
        ]
        return "invalid field(s): " + "; ".join(fields)
    return str(detail)[:MAX_ERROR_CHARS]


def iso(moment: datetime) -> str:
    """ISO 8601 with a timezone, as the service requires."""
    if moment.tzinfo is None:
        raise ValueError(f"timestamps sent to the weather service need a timezone: {moment!r}")
    return moment.isoformat()


class WeatherServiceClient:
    """One method per operation the pipeline needs; batch writes, paged reads."""

    def __init__(
        self,
        http: HttpTransport | httpx.AsyncClient,
        options: WeatherClientOptions,
        *,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._http = as_transport(http)
        self._options = options
        self._base = options.base_url.rstrip("/")
        self.breaker = breaker

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        callers: int = 1,
    ) -> Any:
        """``callers``: the handlers whose work this request carries (batched writes and reads):
        its outcome counts that many times in the breaker's window, as theirs would have."""
        if self.breaker is None:
            return await self._send(method, path, params=params, body=body)
        return await self.breaker.call(
            lambda: self._send(method, path, params=params, body=body), weight=callers
        )

    async def _send(
        self, method: str, path: str, *, params: dict[str, Any] | None, body: Any
    ) -> Any:
        headers = {API_KEY_HEADER: self._options.api_key} if self._options.api_key else {}
        where = f"{method} {path}"
        try:
            response = await self._http.request(
                method,
                self._base + path,
                params=params,
                json_body=body,
                headers=headers,
                timeout_s=self._options.timeout_s,
            )
        except HttpTimeout as exc:
            raise WeatherServiceUnavailable(
                f"weather service {where}: timed out after {self._options.timeout_s} s"
            ) from exc
        except HttpTransportError as exc:
            raise WeatherServiceUnavailable(f"weather service {where}: {exc}") from exc
        status = response.status
        if status < 400:
            try:
                return response.json()
            except ValueError as exc:
                raise WeatherServiceUnavailable(
                    f"weather service {where}: answer is not JSON"
                ) from exc
        message = f"weather service {where}: HTTP {status}: {_detail(response)}"
        if status >= 500 or status == 429:
            raise WeatherServiceUnavailable(message, retry_after_s=_retry_after_s(response))
        if status in (401, 403):
            raise WeatherServiceAuthError(f"{message} (check WEATHER_SERVICE_API_KEY)")
        if status == 404:
            raise WeatherServiceNotFound(message)
        raise WeatherServiceRejected(message)

    # -- locations ---------------------------------------------------------------------------

    async def upsert_locations(self, locations: Sequence[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = await self._request(
            "POST", "/v1/locations", body={"locations": list(locations)}
        )
        return result

    async def get_location(self, location_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/v1/locations/{location_id}")
        return result

    async def location_pages(
        self, *, page_size: int = LOCATIONS_PAGE_SIZE
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every location, one page at a time (memory stays flat however many there are)."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            page = await self._request("GET", "/v1/locations", params=params)
            if page["items"]:
                yield page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    # -- weather -----------------------------------------------------------------------------

    async def upsert_weather(
        self, records: Sequence[dict[str, Any]], *, callers: int = 1
    ) -> dict[str, Any]:
        """Upsert records of many locations in one request (each carries ``location_id``)."""
        result: dict[str, Any] = await self._request(
            "PUT", "/v1/weather", body={"records": list(records)}, callers=callers
        )
        return result

    async def weather_records(
        self, location_id: str, *, start: datetime, end: datetime, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """The location's records with ``start <= hour < end``, oldest first (all pages)."""
        records: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {
                "start": iso(start),
                "end": iso(end),
                "limit": WEATHER_PAGE_SIZE,
            }
            if kind:
                params["kind"] = kind
            if cursor:
                params["cursor"] = cursor
            page = await self._request("GET", f"/v1/locations/{location_id}/weather", params=params)
            records.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return records

    async def query_weather(
        self,
        location_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        kind: str | None = None,
        fields: Sequence[str] | None = None,
        callers: int = 1,
    ) -> dict[str, Any]:
        """Several locations with their records in ``start <= hour < end`` (one request):
        ``{"items": [{"location": {...}, "records": [...]}], "missing": [ids]}``; each record
        with only ``fields`` when given."""
        body: dict[str, Any] = {
            "location_ids": list(location_ids),
            "start": iso(start),
            "end": iso(end),
        }
        if kind:
            body["kind"] = kind
        if fields is not None:
            body["fields"] = list(fields)
        result: dict[str, Any] = await self._request(
            "POST", "/v1/weather/query", body=body, callers=callers
        )
        return result

    # -- conditions and runs -----------------------------------------------------------------

    async def put_conditions(
        self, conditions: Sequence[dict[str, Any]], *, callers: int = 1
    ) -> dict[str, Any]:
        """Upsert conditions of many locations in one request (each carries ``location_id``)."""
        result: dict[str, Any] = await self._request(
            "PUT", "/v1/conditions", body={"conditions": list(conditions)}, callers=callers
        )
        return result

    async def create_run(self, *, run_id: str, stage: str, started_at: datetime) -> dict[str, Any]:
        body = {
            "run_id": run_id,
            "stage": stage,
            "status": "running",
            "started_at": iso(started_at),
        }
        result: dict[str, Any] = await self._request("POST", "/v1/runs", body=body)
        return result

    async def finish_run(
        self, run_id: str, *, status: str, counts: dict[str, int], message: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"status": status, "counts": counts}
        if message:
            body["message"] = message[:2000]
        result: dict[str, Any] = await self._request("PATCH", f"/v1/runs/{run_id}", body=body)
        return result
