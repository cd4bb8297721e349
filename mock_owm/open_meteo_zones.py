"""The ``timezone`` parameter: which zone the hourly times are local to, and its fixed offset.

* ``GMT`` (the default) and ``UTC``: offset 0;
* ``auto``: the place's own zone, the one the OWM endpoints report (``climate.timezone_for``:
  ``Etc/GMT-N`` from the longitude), so both APIs of the mock agree on local dates;
* ``Etc/GMT``, ``Etc/GMT+N``, ``Etc/GMT-N``: read here (POSIX signs: ``Etc/GMT-2`` is UTC+2);
* any other IANA name through the system's time zone database (``zoneinfo``).

Like Open-Meteo, one request uses one offset for its whole series: the zone's offset at the
mock's "now" (a daylight-saving change inside the series does not shift it). A name that cannot be
resolved is a 400 ``Invalid timezone``. Abbreviations are the zone's own (``CET``) or, for a zone
that has only a numeric one, ``GMT+N`` / ``GMT-N:MM`` as Open-Meteo writes them.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime

from mock_owm.climate import Location
from mock_owm.open_meteo_errors import OpenMeteoError

AUTO = "auto"
DEFAULT_TIMEZONE = "GMT"
INVALID_TIMEZONE_REASON = "Invalid timezone"
_ETC_RE = re.compile(r"Etc/GMT(?:([+-])([0-9]{1,2}))?")
# What an IANA key can look like; anything else is refused before zoneinfo sees it.
_IANA_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}")
_MAX_NAME_CHARS = 64
# Files of the database that are no zone of their own (the host's zone, a fallback, old copies).
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_NOT_ZONE_PREFIXES = ("posix/", "right/")
_NUMERIC_ABBREVIATION = re.compile(r"[+-][0-9]{2}(?:[0-9]{2})?")


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    offset_s: int
    abbreviation: str


GMT = Zone("GMT", 0, "GMT")
UTC_ZONE = Zone("UTC", 0, "UTC")


def gmt_abbreviation(offset_s: int) -> str:
    """``GMT``, ``GMT+2``, ``GMT-3``, ``GMT+5:30``."""
    if offset_s == 0:
        return "GMT"
    sign = "+" if offset_s > 0 else "-"
    hours, rest = divmod(abs(offset_s) // 60, 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def own_zone(loc: Location) -> Zone:
    """``timezone=auto``: the place's zone."""
    return Zone(loc.tz_name, loc.tz_offset_s, gmt_abbreviation(loc.tz_offset_s))


def resolve_zone(name: str, now_s: float) -> Zone | None:
    """The zone named ``name`` at ``now_s``; None for ``auto`` (resolved per place)."""
    if name == AUTO:
        return None
    if name == "GMT":
        return GMT
    if name == "UTC":
        return UTC_ZONE
    etc = _ETC_RE.fullmatch(name)
    if etc is not None:
        sign, hours = etc.group(1), int(etc.group(2) or 0)
        if hours > (14 if sign == "-" else 12):
            raise OpenMeteoError(400, INVALID_TIMEZONE_REASON)
        offset_s = -hours * 3600 if sign == "+" else hours * 3600
        return Zone(name, offset_s, gmt_abbreviation(offset_s))
    if (len(name) > _MAX_NAME_CHARS or not _IANA_RE.fullmatch(name) or name in _NOT_ZONES
            or name.startswith(_NOT_ZONE_PREFIXES)):
        raise OpenMeteoError(400, INVALID_TIMEZONE_REASON)
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise OpenMeteoError(400, INVALID_TIMEZONE_REASON) from None
    moment = datetime.fromtimestamp(now_s, tz=UTC).astimezone(zone)
    offset = moment.utcoffset()
    offset_s = int(offset.total_seconds()) if offset is not None else 0
    abbreviation = moment.tzname() or ""
    if not abbreviation or _NUMERIC_ABBREVIATION.fullmatch(abbreviation):
        abbreviation = gmt_abbreviation(offset_s)
    return Zone(name, offset_s, abbreviation)
