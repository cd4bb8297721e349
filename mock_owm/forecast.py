"""Memoised access to places, hours and local days: the read side of the generator."""

from __future__ import annotations

from functools import lru_cache

from mock_owm.astro import SECONDS_PER_DAY
from mock_owm.climate import Location, locate, round_coord
from mock_owm.daily import DayAggregate, aggregate_day
from mock_owm.model import HOURS_PER_DAY, SECONDS_PER_HOUR, Hour, local_day_hours

DEFAULT_LOCATION_CACHE = 16_384
DEFAULT_DAY_CACHE = 8_192  # local days of one place (24 hours and aggregates, ~13 kB each)
_COORD_SCALE = 10_000.0


class Forecaster:
    """Hours are generated a local date at a time (in the place's own zone) and kept, with their
    aggregates, in an LRU cache: a place asked for again (a retry, the next onecall, a timemachine
    or day_summary of the same date) costs nothing."""

    def __init__(self, *, day_cache: int = DEFAULT_DAY_CACHE,
                 location_cache: int = DEFAULT_LOCATION_CACHE) -> None:
        self._locate = lru_cache(maxsize=location_cache)(locate)
        self._day = lru_cache(maxsize=day_cache)(self._make_day)

    def location(self, lat: float, lon: float) -> Location:
        return self._locate(round_coord(lat), round_coord(lon))

    def location_by_key(self, lat_key: int, lon_key: int) -> Location:
        return self._locate(lat_key / _COORD_SCALE, lon_key / _COORD_SCALE)

    def _make_day(self, lat_key: int, lon_key: int, date_days: int) -> DayAggregate:
        loc = self.location_by_key(lat_key, lon_key)
        hours, sun = local_day_hours(loc, date_days)
        return aggregate_day(date_days * SECONDS_PER_DAY - loc.tz_offset_s, hours, sun)

    def day(self, loc: Location, date_days: int) -> DayAggregate:
        """Local date ``date_days`` (days since 1970-01-01) in the place's own zone."""
        return self._day(loc.lat_key, loc.lon_key, date_days)

    def hours(self, loc: Location, first_hour: int, count: int) -> list[Hour]:
        """``count`` consecutive hours from ``first_hour`` (hours since 1970-01-01 UTC)."""
        out: list[Hour] = []
        zone_hours = loc.tz_offset_s // SECONDS_PER_HOUR
        hour = first_hour
        end = first_hour + count
        while hour < end:
            date_days, j = divmod(hour + zone_hours, HOURS_PER_DAY)
            take = min(HOURS_PER_DAY - j, end - hour)
            out.extend(self._day(loc.lat_key, loc.lon_key, date_days).hours[j:j + take])
            hour += take
        return out

    def moment(self, loc: Location, t_s: float) -> tuple[Hour, DayAggregate]:
        """The hour containing ``t_s`` and its local day: current and timemachine answers both
        come from here."""
        date_days, j = divmod(int(t_s // SECONDS_PER_HOUR) + loc.tz_offset_s // SECONDS_PER_HOUR,
                              HOURS_PER_DAY)
        day = self._day(loc.lat_key, loc.lon_key, date_days)
        return day.hours[j], day

    def day_in_zone(self, loc: Location, date_days: int, tz_offset_s: int) -> DayAggregate:
        """A local date in any zone (day_summary's ``tz``); the place's own zone is cached."""
        own = self.day(loc, date_days)
        if tz_offset_s == loc.tz_offset_s:
            return own
        midnight_s = date_days * SECONDS_PER_DAY - tz_offset_s
        # Offsets like +05:30 do not fall on a UTC hour: take the nearest hour.
        first_hour = (midnight_s + SECONDS_PER_HOUR // 2) // SECONDS_PER_HOUR
        return aggregate_day(midnight_s, self.hours(loc, first_hour, HOURS_PER_DAY), own.sun)


def local_date_days(t_s: float, tz_offset_s: int) -> int:
    """The local date containing ``t_s`` as days since 1970-01-01."""
    return int((t_s + tz_offset_s) // SECONDS_PER_DAY)
