"""Writes to the weather service shared by one worker's concurrent handlers, sent in batches.

Each handler hands over its own records and waits for their batch; one ``PUT /v1/weather`` (or
``PUT /v1/conditions``) then carries the records of every handler that wrote within
``max_wait_s``, up to ``max_records``. A request rejected as a whole (422) is split, so only the
handler whose records are at fault fails (``etl_core.batching``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from etl_core.batching import DEFAULT_MAX_WAIT_S, Coalescer
from services.weather_client import WeatherServiceClient

DEFAULT_MAX_RECORDS = 2000  # below the service's WEATHER_SERVICE_MAX_BATCH default (5000)

Records = Sequence[dict[str, Any]]


class WeatherWrites:
    def __init__(
        self,
        client: WeatherServiceClient,
        *,
        max_records: int = DEFAULT_MAX_RECORDS,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
    ) -> None:
        self._client = client
        self._weather: Coalescer[Records, None] = Coalescer(
            self._put_weather, max_weight=max_records, weight=len, max_wait_s=max_wait_s
        )
        self._conditions: Coalescer[Records, None] = Coalescer(
            self._put_conditions, max_weight=max_records, weight=len, max_wait_s=max_wait_s
        )

    async def upsert_weather(self, records: Records) -> None:
        """Upsert hourly records (each carries ``location_id``); returns once they are stored."""
        if records:
            await self._weather.submit(records)

    async def put_conditions(self, conditions: Records) -> None:
        """Upsert trail conditions (each carries ``location_id``); returns once stored."""
        if conditions:
            await self._conditions.submit(conditions)

    async def _put_weather(self, parts: Sequence[Records]) -> list[None]:
        await self._client.upsert_weather([r for part in parts for r in part], callers=len(parts))
        return [None] * len(parts)

    async def _put_conditions(self, parts: Sequence[Records]) -> list[None]:
        await self._client.put_conditions([c for part in parts for c in part], callers=len(parts))
        return [None] * len(parts)

    async def aclose(self) -> None:
        await self._weather.aclose()
        await self._conditions.aclose()
