"""Per-key quotas as OpenWeatherMap enforces them: calls in any rolling 60 s, and per UTC day.

Only admitted calls count toward a quota (a refused call spends nothing). The minute window is
exact: a call at ``t`` is admitted when fewer than ``per_minute`` calls were admitted in
``(t - 60 s, t]``. Tests that compress time give the "minute" another length (``window_s``).
"""

from __future__ import annotations

from collections import deque

from mock_owm.astro import SECONDS_PER_DAY

WINDOW_S = 60.0
PER_MINUTE = "per_minute"
PER_DAY = "per_day"


class QuotaLimiter:
    def __init__(self) -> None:
        self._admitted: dict[str, deque[float]] = {}
        self._daily: dict[str, tuple[int, int]] = {}  # key -> (UTC day, calls admitted that day)

    def check(self, key: str, *, mono_s: float, wall_s: float, per_minute: int | None,
              per_day: int | None, window_s: float = WINDOW_S) -> str | None:
        """Admit and count a call (returns None), or name the quota it would exceed."""
        window = self._admitted.get(key)
        if window is None:
            window = self._admitted[key] = deque()
        cutoff = mono_s - window_s
        while window and window[0] <= cutoff:
            window.popleft()
        day = int(wall_s // SECONDS_PER_DAY)
        counted_day, count = self._daily.get(key, (day, 0))
        if counted_day != day:
            count = 0
        if per_minute is not None and len(window) >= per_minute:
            return PER_MINUTE
        if per_day is not None and count >= per_day:
            return PER_DAY
        window.append(mono_s)
        self._daily[key] = (day, count + 1)
        return None

    def seconds_until_free(self, key: str, *, mono_s: float, window_s: float = WINDOW_S) -> float:
        """How long until the minute window has room again (0 if it has room now)."""
        window = self._admitted.get(key)
        if not window:
            return 0.0
        return max(0.0, window[0] + window_s - mono_s)
