"""Open-Meteo's free-API quotas: weighted calls per client, in fixed minute, hour and day windows.

**Weight** (Open-Meteo's pricing page, "How is one API call defined?", and the server's
``calculateQueryWeight``): per location, ``max(1, v / 10, v / 10 * d / 14)`` calls for ``v``
variables over ``d`` days, summed over the locations. Fewer than 10 variables or 2 weeks count as
one call; 15 variables over 2 weeks are 1.5 calls, over 4 weeks 3.0. Weights are kept as integers
in units of 1/140 call (``UNITS_PER_CALL``), so sums and limits are exact.

**Windows**: the real server keeps one counter per client for the current minute, hour and day
and clears them at each UTC minute, hour and midnight, so these are fixed windows aligned to the
wall clock, not rolling ones. Here the minute is ``window_s`` long (60 s; tests compress it), the
hour 60 such windows and the day 1,440, aligned to multiples of their length since the epoch: at
the default 60 s they are exactly the UTC minute, hour and calendar day.

**Admission**, as the real server does it: a call is refused (429) when a counter already holds
its limit; otherwise it is answered and its whole weight is added afterwards, so one heavy call may
take a counter past its limit, and the next one is refused. Refused calls, and calls that fail
(400 and the like), add nothing.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from mock_owm.ratelimit import WINDOW_S

UNITS_PER_CALL = 140  # lcm of the reference 10 variables and 14 days
REFERENCE_VARIABLES = 10
REFERENCE_DAYS = 14
WINDOWS_PER_HOUR = 60
WINDOWS_PER_DAY = 1_440
PER_MINUTE = "per_minute"
PER_HOUR = "per_hour"
PER_DAY = "per_day"
# Clients remembered at once; past it the least recently seen is forgotten (memory stays bounded
# whatever client addresses or keys arrive).
MAX_CLIENTS = 10_000


def call_units(*, variables: int, days: int, locations: int) -> int:
    """The weight of one request in 1/UNITS_PER_CALL calls."""
    per_location = max(
        UNITS_PER_CALL,
        variables * (UNITS_PER_CALL // REFERENCE_VARIABLES),
        variables * days * (UNITS_PER_CALL // (REFERENCE_VARIABLES * REFERENCE_DAYS)),
    )
    return per_location * locations


def as_calls(units: int) -> float:
    return round(units / UNITS_PER_CALL, 4)


class _Counters:
    __slots__ = ("day", "day_units", "hour", "hour_units", "minute", "minute_units")

    def __init__(self) -> None:
        self.minute = self.hour = self.day = -1
        self.minute_units = self.hour_units = self.day_units = 0

    def roll(self, minute: int, hour: int, day: int) -> None:
        """Start a new count for each window that has ended."""
        if minute != self.minute:
            self.minute, self.minute_units = minute, 0
        if hour != self.hour:
            self.hour, self.hour_units = hour, 0
        if day != self.day:
            self.day, self.day_units = day, 0


def _windows(wall_s: float, window_s: float) -> tuple[int, int, int]:
    return (math.floor(wall_s / window_s), math.floor(wall_s / (window_s * WINDOWS_PER_HOUR)),
            math.floor(wall_s / (window_s * WINDOWS_PER_DAY)))


class OpenMeteoQuota:
    def __init__(self, *, max_clients: int = MAX_CLIENTS) -> None:
        self._clients: OrderedDict[str, _Counters] = OrderedDict()
        self._max_clients = max_clients

    def _counters(self, client: str) -> _Counters:
        counters = self._clients.get(client)
        if counters is None:
            counters = self._clients[client] = _Counters()
            if len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(client)
        return counters

    def check(self, client: str, *, wall_s: float, per_minute: int | None, per_hour: int | None,
              per_day: int | None, window_s: float = WINDOW_S) -> str | None:
        """None if ``client`` may call now, else the limit it has reached (minute first)."""
        counters = self._counters(client)
        counters.roll(*_windows(wall_s, window_s))
        if per_minute is not None and counters.minute_units >= per_minute * UNITS_PER_CALL:
            return PER_MINUTE
        if per_hour is not None and counters.hour_units >= per_hour * UNITS_PER_CALL:
            return PER_HOUR
        if per_day is not None and counters.day_units >= per_day * UNITS_PER_CALL:
            return PER_DAY
        return None

    def charge(self, client: str, units: int, *, wall_s: float,
               window_s: float = WINDOW_S) -> None:
        """Add an answered call's weight to the client's current windows."""
        counters = self._counters(client)
        counters.roll(*_windows(wall_s, window_s))
        counters.minute_units += units
        counters.hour_units += units
        counters.day_units += units
