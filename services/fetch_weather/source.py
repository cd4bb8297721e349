"""The weather-source contract: what fetch-weather asks of a provider, and how one is chosen.

A source turns one location and the history the weather service already holds into hourly
records, in the manner of the classifier contract (``services.categorize.contract``): the
handler keeps the flow (history check, upsert, hand-off), the source owns everything about its
provider (endpoints, units, time zones, how missing history is filled, what that costs).

What a source gives (``SourceAnswer``):

* hourly records in the weather service's units (``WeatherRecordIn``: UTC hours, degrees C,
  m/s, mm), ``kind="observed"`` for hours up to the current one and ``"forecast"`` after it,
  each with a ``source`` name; the handler adds the location id;
* the location's UTC offset, as the provider reported it;
* the paid calls it spent (0 when every answer came from the answer cache).

How it fills history: ``SourceRequest.history`` says what observed hours are stored (or that the
window is covered); when it is not enough, the source adds observed records for the missing past
(at most ``history.max_backfill_days`` local days) in the same answer.

What it costs: the provider's rate limits (``SourceProfile``), which the shared limiter enforces
across every replica, and the calls each answer spent (``SourceAnswer.calls``, logged per task;
the gate counts every call in ``trail_etl_worker_source_calls_total``). The profile also names
the source's shared limiter and breaker. Every paid call goes through the ``SourceGate`` it is
given (answer cache, breaker, call slots, limiter); its errors are
``services.fetch_weather.errors``' taxonomy.

Chosen by ``WEATHER_SOURCE``: ``owm``, ``open-meteo``, or ``package.module:Class`` for one of
your own, a class with the two class methods of ``WeatherSourceClass``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from etl_core.breaker import BreakerOptions
from etl_core.errors import ConfigurationError
from services.fetch_weather.history import HistoryOptions, StoredHistory

if TYPE_CHECKING:
    from services.fetch_weather.gate import SourceGate
    from services.fetch_weather.settings import FetchWeatherSettings
    from services.http_transport import HttpTransport


@dataclass(frozen=True, slots=True)
class SourceRequest:
    """``identity`` names this task's request (``<location_id>@<window>``): the answer cache key
    of its calls, so a redelivery within the window pays nothing."""

    location_id: str
    lat: float
    lon: float
    identity: str
    now: datetime
    history: StoredHistory
    options: HistoryOptions


@dataclass(frozen=True, slots=True)
class SourceAnswer:
    records: list[dict[str, Any]]
    utc_offset: timedelta
    calls: int
    backfilled_days: int = 0


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The provider's published limits for our key or address; None: no such limit."""

    per_minute: int
    per_hour: int | None = None
    per_day: int | None = None


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """``name`` is short and stable: it appears in cache keys, logs, metrics labels and the
    ``source`` of records. ``limiter`` and ``breaker`` name the shared ones (Redis keys)."""

    name: str
    limiter: str
    breaker: str
    limits: RateLimits
    breaker_options: BreakerOptions


@runtime_checkable
class WeatherSource(Protocol):
    profile: SourceProfile

    async def fetch(self, request: SourceRequest) -> SourceAnswer: ...


class WeatherSourceClass(Protocol):
    """What ``WEATHER_SOURCE=module:Class`` must name."""

    @classmethod
    def describe(cls, settings: FetchWeatherSettings) -> SourceProfile: ...

    @classmethod
    def open(
        cls,
        settings: FetchWeatherSettings,
        *,
        http: HttpTransport,
        gate: SourceGate,
        profile: SourceProfile,
    ) -> WeatherSource: ...


MAX_UTC_OFFSET_S = 18 * 3600  # the widest real zones are -12 h and +14 h


def utc_offset_from(seconds: object) -> timedelta:
    """A provider's UTC offset in seconds as a ``timedelta``; UTC when it is absent or not a
    plausible offset (a wrong offset would only shift which local days are backfilled)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or abs(seconds) > MAX_UTC_OFFSET_S:
        return timedelta(0)
    return timedelta(seconds=seconds)


BUILT_IN = {
    "owm": "services.fetch_weather.owm.source:OwmSource",
    "open-meteo": "services.fetch_weather.open_meteo.source:OpenMeteoSource",
}


def source_class(name: str) -> WeatherSourceClass:
    """The class ``WEATHER_SOURCE`` names; ``ConfigurationError`` naming the problem."""
    path = BUILT_IN.get(name, name)
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(
            f"WEATHER_SOURCE: {name!r} is neither {' nor '.join(sorted(BUILT_IN))} "
            "nor an import path 'package.module:Class'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"WEATHER_SOURCE: cannot import {module_name!r}: {exc}") from None
    cls = getattr(module, attr, None)
    if cls is None:
        raise ConfigurationError(f"WEATHER_SOURCE: {module_name!r} has no {attr!r}")
    missing = [m for m in ("describe", "open") if not callable(getattr(cls, m, None))]
    if missing:
        raise ConfigurationError(
            f"WEATHER_SOURCE: {path} lacks {', '.join(missing)} (see services.fetch_weather.source)"
        )
    source: WeatherSourceClass = cls
    return source
