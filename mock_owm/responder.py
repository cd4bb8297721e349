"""The answer bodies of the four One Call 3.0 endpoints, as JSON bytes.

``onecall`` is the hot path: its hourly, daily, minutely and alerts parts depend only on the
place, the hour (local date, minute) and units/lang, so each is encoded once and kept in an LRU
cache; only ``current`` is built per request (its ``dt`` moves with the clock).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from pydantic_core import to_json

from mock_owm.alerts import alerts_for
from mock_owm.climate import Location
from mock_owm.forecast import Forecaster, local_date_days
from mock_owm.model import SECONDS_PER_HOUR
from mock_owm.overview import overview_text
from mock_owm.params import date_to_days, format_tz
from mock_owm.render import (
    daily_entry,
    day_summary_body,
    hour_entry,
    minutely_entries,
    sun_times,
)
from mock_owm.units import Units, units_for

HOURLY_COUNT = 48
DAILY_COUNT = 8
MINUTELY_COUNT = 61
DEFAULT_FRAGMENT_CACHE = 1_024


class Responder:
    """Builds answers from a ``Forecaster``; every method returns the encoded JSON body."""

    def __init__(self, forecaster: Forecaster, *,
                 fragment_cache: int = DEFAULT_FRAGMENT_CACHE) -> None:
        self.forecaster = forecaster
        self._hourly = lru_cache(maxsize=fragment_cache)(self._hourly_json)
        self._daily = lru_cache(maxsize=fragment_cache)(self._daily_json)
        self._alerts = lru_cache(maxsize=fragment_cache)(self._alerts_json)
        self._minutely = lru_cache(maxsize=fragment_cache)(self._minutely_json)

    # -- onecall ---------------------------------------------------------------------------------

    def onecall(self, lat: float, lon: float, *, now_s: float, units: Units, lang: str,
                excluded: frozenset[str]) -> bytes:
        loc = self.forecaster.location(lat, lon)
        hour_index = int(now_s // SECONDS_PER_HOUR)
        parts = [self._head(loc)]
        if "current" not in excluded:
            parts += (b',"current":', to_json(self._current(loc, now_s, units, lang)))
        if "minutely" not in excluded:
            first_minute = (int(now_s) // 60 + 1) * 60
            parts += (b',"minutely":', self._minutely(loc.lat_key, loc.lon_key, first_minute))
        if "hourly" not in excluded:
            parts += (b',"hourly":',
                      self._hourly(loc.lat_key, loc.lon_key, hour_index, units.name, lang))
        if "daily" not in excluded:
            today = local_date_days(now_s, loc.tz_offset_s)
            parts += (b',"daily":', self._daily(loc.lat_key, loc.lon_key, today, units.name, lang))
        if "alerts" not in excluded:
            alerts = self._alerts(loc.lat_key, loc.lon_key, hour_index)
            if alerts is not None:
                parts += (b',"alerts":', alerts)
        parts.append(b"}")
        return b"".join(parts)

    @staticmethod
    def _head(loc: Location) -> bytes:
        return (b'{"lat":' + to_json(loc.lat) + b',"lon":' + to_json(loc.lon)
                + b',"timezone":' + to_json(loc.tz_name)
                + b',"timezone_offset":' + str(loc.tz_offset_s).encode())

    def _current(self, loc: Location, t_s: float, units: Units, lang: str) -> dict[str, object]:
        hour, day = self.forecaster.moment(loc, t_s)
        return hour_entry(hour, loc, units, lang, dt=int(t_s), sun_times=sun_times(day.sun))

    def _minutely_json(self, lat_key: int, lon_key: int, first_minute: int) -> bytes:
        loc = self.forecaster.location_by_key(lat_key, lon_key)
        first_hour = first_minute // SECONDS_PER_HOUR
        last_hour = (first_minute + (MINUTELY_COUNT - 1) * 60) // SECONDS_PER_HOUR
        hours = self.forecaster.hours(loc, first_hour, last_hour - first_hour + 1)
        rates = {first_hour + n: round(h.rain_mm + h.snow_mm, 2) for n, h in enumerate(hours)}
        return to_json(minutely_entries(first_minute, rates))

    def _hourly_json(self, lat_key: int, lon_key: int, hour_index: int, units_name: str,
                     lang: str) -> bytes:
        loc = self.forecaster.location_by_key(lat_key, lon_key)
        units = units_for(units_name)
        hours = self.forecaster.hours(loc, hour_index, HOURLY_COUNT)
        return to_json([hour_entry(h, loc, units, lang, with_pop=True) for h in hours])

    def _daily_json(self, lat_key: int, lon_key: int, today: int, units_name: str,
                    lang: str) -> bytes:
        loc = self.forecaster.location_by_key(lat_key, lon_key)
        units = units_for(units_name)
        return to_json([
            daily_entry(self.forecaster.day(loc, today + n), loc, units, lang)
            for n in range(DAILY_COUNT)
        ])

    def _alerts_json(self, lat_key: int, lon_key: int, hour_index: int) -> bytes | None:
        loc = self.forecaster.location_by_key(lat_key, lon_key)
        alerts = alerts_for(self.forecaster.hours(loc, hour_index, HOURLY_COUNT))
        return to_json(alerts) if alerts else None

    days_per_onecall = DAILY_COUNT  # local days one onecall reads (hourly lies within them)

    def warm(self, lat: float, lon: float, *, now_s: float, units: Units | None,
             lang: str) -> None:
        """Generate the days a onecall at ``now_s`` reads; with ``units``, encode its parts too."""
        if units is not None:
            self.onecall(lat, lon, now_s=now_s, units=units, lang=lang, excluded=frozenset())
            return
        loc = self.forecaster.location(lat, lon)
        today = local_date_days(now_s, loc.tz_offset_s)
        for n in range(DAILY_COUNT):
            self.forecaster.day(loc, today + n)

    # -- the other endpoints ----------------------------------------------------------------------

    def timemachine(self, lat: float, lon: float, *, dt: int, units: Units, lang: str) -> bytes:
        loc = self.forecaster.location(lat, lon)
        return self._head(loc) + b',"data":[' + to_json(self._current(loc, dt, units, lang)) + b"]}"

    def day_summary(self, lat: float, lon: float, *, day: date, tz_offset_s: int | None,
                    units: Units) -> bytes:
        loc = self.forecaster.location(lat, lon)
        offset = loc.tz_offset_s if tz_offset_s is None else tz_offset_s
        aggregate = self.forecaster.day_in_zone(loc, date_to_days(day), offset)
        return to_json(day_summary_body(aggregate, loc, units, tz=format_tz(offset),
                                        date=day.isoformat()))

    def overview(self, lat: float, lon: float, *, day: date, now_s: float, units: Units) -> bytes:
        """``day`` must be the place's today or tomorrow (checked by the caller)."""
        loc = self.forecaster.location(lat, lon)
        days = date_to_days(day)
        aggregate = self.forecaster.day(loc, days)
        is_today = days == local_date_days(now_s, loc.tz_offset_s)
        current = self.forecaster.moment(loc, now_s)[0] if is_today else None
        return to_json({
            "lat": loc.lat,
            "lon": loc.lon,
            "tz": format_tz(loc.tz_offset_s),
            "date": day.isoformat(),
            "units": units.name,
            "weather_overview": overview_text(aggregate, units, current=current),
        })

    def today(self, lat: float, lon: float, now_s: float) -> int:
        """The place's local date at ``now_s`` as days since 1970-01-01."""
        loc = self.forecaster.location(lat, lon)
        return local_date_days(now_s, loc.tz_offset_s)

