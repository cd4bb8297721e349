"""Query parameters: parsed and range-checked; problems become one 400 naming every bad one."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, timedelta

from mock_owm.astro import SECONDS_PER_DAY
from mock_owm.errors import OwmError

EXCLUDABLE = frozenset({"current", "minutely", "hourly", "daily", "alerts"})
HISTORY_START_S = 283_996_800  # 1979-01-01T00:00:00Z, timemachine's first moment
TIMEMACHINE_AHEAD_S = 4 * SECONDS_PER_DAY
DAY_SUMMARY_FIRST_DATE = date(1979, 1, 2)
DAY_SUMMARY_AHEAD_DAYS = 547  # one and a half years
_EPOCH = date(1970, 1, 1)
# Matched whole (fullmatch), ASCII digits only: what the OpenAPI schema declares is what passes.
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TZ_RE = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")
_INT_RE = re.compile(r"-?[0-9]{1,12}")
_NUMBER_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
_MAX_TZ_MINUTES = 14 * 60


class Problems:
    """Collects ``(parameter, message)`` pairs; ``check()`` raises one 400 listing them all."""

    def __init__(self) -> None:
        self._items: list[tuple[str, str]] = []

    def add(self, parameter: str, message: str) -> None:
        self._items.append((parameter, message))

    def check(self) -> None:
        if self._items:
            messages = dict.fromkeys(m for _, m in self._items)
            raise OwmError(400, "; ".join(messages), [p for p, _ in self._items])


def coordinate(query: Mapping[str, str], name: str, limit: float, problems: Problems) -> float:
    """``lat`` (limit 90) or ``lon`` (limit 180); 0.0 when bad (the problem is recorded)."""
    raw = query.get(name)
    word = "latitude" if name == "lat" else "longitude"
    if raw is None:
        problems.add(name, "Nothing to geocode")
        return 0.0
    if not _NUMBER_RE.fullmatch(raw):
        problems.add(name, f"wrong {word}")
        return 0.0
    value = float(raw)
    if not math.isfinite(value) or not -limit <= value <= limit:
        problems.add(name, f"wrong {word}")
        return 0.0
    return value


def place(query: Mapping[str, str], problems: Problems) -> tuple[float, float]:
    return coordinate(query, "lat", 90.0, problems), coordinate(query, "lon", 180.0, problems)


def timemachine_dt(query: Mapping[str, str], now_s: float, problems: Problems) -> int:
    raw = query.get("dt")
    if raw is None or not _INT_RE.fullmatch(raw):
        problems.add("dt", "dt is required and must be unix time in seconds")
        return 0
    value = int(raw)
    if not HISTORY_START_S <= value <= now_s + TIMEMACHINE_AHEAD_S:
        problems.add("dt", "requested time is out of allowed range (1979-01-01 to 4 days ahead)")
    return value


def parse_date(raw: str | None, problems: Problems, name: str = "date") -> date | None:
    if raw is None or not _DATE_RE.fullmatch(raw):
        problems.add(name, f"{name} is required in the format YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.add(name, f"{name} is not a valid date")
        return None


def summary_date(query: Mapping[str, str], today: date, problems: Problems) -> date | None:
    """``day_summary``'s date: from 1979-01-02 to one and a half years ahead."""
    value = parse_date(query.get("date"), problems)
    if value is not None and not (
        DAY_SUMMARY_FIRST_DATE <= value <= today + timedelta(days=DAY_SUMMARY_AHEAD_DAYS)
    ):
        problems.add("date",
                     "requested date is out of allowed range (1979-01-02 to 1.5 years ahead)")
        return None
    return value


def tz_offset_s(query: Mapping[str, str], problems: Problems) -> int | None:
    """``tz`` as ``+HH:MM``/``-HH:MM`` in seconds; None when absent."""
    raw = query.get("tz")
    if raw is None:
        return None
    match = _TZ_RE.fullmatch(raw)
    minutes = int(match.group(2)) * 60 + int(match.group(3)) if match else -1
    if match is None or int(match.group(3)) >= 60 or minutes > _MAX_TZ_MINUTES:
        problems.add("tz", "tz must be +HH:MM or -HH:MM")
        return None
    return (minutes if match.group(1) == "+" else -minutes) * 60


def exclude(query: Mapping[str, str]) -> frozenset[str]:
    """Parts to leave out; unknown names are ignored, as OpenWeatherMap does."""
    raw = query.get("exclude") or ""
    return frozenset(part.strip().lower() for part in raw.split(",")) & EXCLUDABLE


def format_tz(offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    minutes = abs(offset_s) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def date_to_days(value: date) -> int:
    return (value - _EPOCH).days


def days_to_date(days: int) -> date:
    return _EPOCH + timedelta(days=days)
