"""Reads of one worker's concurrent handlers, sent to the weather service in batches.

A categorize handler needs one location and its recent records; ``WeatherReads`` gathers the
requests of every handler that asked within ``max_wait_s`` (for the same time range and record
fields) into one ``POST /v1/weather/query`` of up to ``MAX_QUERY_LOCATIONS`` ids
(``etl_core.batching``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from etl_core.batching import DEFAULT_MAX_WAIT_S, Coalescer
from services.weather_client import WeatherServiceClient, WeatherServiceNotFound

MAX_QUERY_LOCATIONS = 200  # the service's limit per query


@dataclass(frozen=True, slots=True)
class _Ask:
    location_id: str
    start: datetime
    end: datetime
    fields: tuple[str, ...] | None


# What one query asks for: the time range and the record fields (None: every field).
_Shape = tuple[datetime, datetime, tuple[str, ...] | None]


@dataclass(frozen=True, slots=True)
class LocationWeather:
    location: dict[str, Any]
    records: list[dict[str, Any]]


class WeatherReads:
    def __init__(
        self,
        client: WeatherServiceClient,
        *,
        max_locations: int = MAX_QUERY_LOCATIONS,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
    ) -> None:
        self._client = client
        self._coalescer: Coalescer[_Ask, LocationWeather | None] = Coalescer(
            self._query, max_weight=min(max_locations, MAX_QUERY_LOCATIONS), max_wait_s=max_wait_s
        )

    async def location_weather(
        self,
        location_id: str,
        *,
        start: datetime,
        end: datetime,
        fields: Sequence[str] | None = None,
    ) -> LocationWeather:
        """The location and its records with ``start <= hour < end``, oldest first, with only
        ``fields`` of each record when given; ``WeatherServiceNotFound`` if no such location
        exists."""
        ask = _Ask(location_id, start, end, None if fields is None else tuple(fields))
        got = await self._coalescer.submit(ask)
        if got is None:
            raise WeatherServiceNotFound(f"weather service: no location {location_id!r}")
        return got

    async def _query(self, asks: Sequence[_Ask]) -> list[LocationWeather | None]:
        by_shape: dict[_Shape, set[str]] = defaultdict(set)
        for ask in asks:
            by_shape[(ask.start, ask.end, ask.fields)].add(ask.location_id)
        found: dict[tuple[_Shape, str], LocationWeather] = {}
        for shape, ids in by_shape.items():
            start, end, fields = shape
            answer = await self._client.query_weather(
                sorted(ids), start=start, end=end, fields=fields, callers=len(ids)
            )
            for item in answer["items"]:
                location = item["location"]
                found[(shape, location["id"])] = LocationWeather(location, item["records"])
        return [found.get(((a.start, a.end, a.fields), a.location_id)) for a in asks]

    async def aclose(self) -> None:
        await self._coalescer.aclose()
