"""What the mock saw: requests per endpoint and key, status codes, injected faults, and per key the
most requests in any rolling 60 s window (exact, from request times; memory stays bounded because
only the last 60 s of times are kept, next to the running maximum)."""

from __future__ import annotations

from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from mock_owm.ratelimit import WINDOW_S

MISSING_KEY = "<missing>"
INVALID_KEY = "<invalid>"


class WindowPeak:
    """Events in the trailing window ``(t - 60 s, t]`` and the most ever seen in one window.

    The busiest window always ends at an event, so checking the count as each event is added is
    enough to find the maximum over all windows.
    """

    __slots__ = ("_times", "peak")

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self.peak = 0

    def _trim(self, now_s: float) -> None:
        cutoff = now_s - WINDOW_S
        times = self._times
        while times and times[0] <= cutoff:
            times.popleft()

    def add(self, t_s: float) -> None:
        self._trim(t_s)
        self._times.append(t_s)
        if len(self._times) > self.peak:
            self.peak = len(self._times)

    def current(self, now_s: float) -> int:
        self._trim(now_s)
        return len(self._times)


class KeyStats:
    __slots__ = ("admitted", "admitted_window", "checked_window", "rate_limited", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.admitted = 0
        self.rate_limited = 0
        self.checked_window = WindowPeak()  # every request that reached the quota check
        self.admitted_window = WindowPeak()  # only those the quota admitted

    def snapshot(self, mono_s: float) -> dict[str, int]:
        return {
            "requests": self.requests,
            "admitted": self.admitted,
            "rate_limited": self.rate_limited,
            "max_in_any_60s": self.checked_window.peak,
            "max_admitted_in_any_60s": self.admitted_window.peak,
            "in_last_60s": self.checked_window.current(mono_s),
            "admitted_in_last_60s": self.admitted_window.current(mono_s),
        }


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.since = datetime.now(UTC)
        self.total = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_key: Counter[str] = Counter()
        self.status_codes: Counter[int] = Counter()
        self.injected: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.keys: dict[str, KeyStats] = {}

    def request(self, endpoint: str, key_label: str) -> None:
        self.total += 1
        self.by_endpoint[endpoint] += 1
        self.by_key[key_label] += 1

    def quota_checked(self, key: str, t_s: float, refused_by: str | None) -> None:
        stats = self.keys.get(key)
        if stats is None:
            stats = self.keys[key] = KeyStats()
        stats.requests += 1
        stats.checked_window.add(t_s)
        if refused_by is None:
            stats.admitted += 1
            stats.admitted_window.add(t_s)
        else:
            stats.rate_limited += 1
            self.rate_limited[refused_by] += 1

    def status(self, code: int) -> None:
        self.status_codes[code] += 1

    def fault(self, kind: str) -> None:
        self.injected[kind] += 1

    def snapshot(self, mono_s: float) -> dict[str, Any]:
        """Everything counted since the last reset; ``mono_s`` is the monotonic time now."""
        return {
            "since": self.since.isoformat().replace("+00:00", "Z"),
            "requests_total": self.total,
            "requests_by_endpoint": dict(self.by_endpoint),
            "requests_by_key": dict(self.by_key),
            "status_codes": {str(code): n for code, n in sorted(self.status_codes.items())},
            "errors_injected": dict(self.injected),
            "rate_limited": dict(self.rate_limited),
            "keys": {key: s.snapshot(mono_s) for key, s in self.keys.items()},
        }
