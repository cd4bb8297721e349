"""What the mock saw: requests per endpoint and key, status codes, injected faults, and per key the
most requests in any rolling 60 s window (exact, from request times; memory stays bounded because
only the last 60 s of times are kept, next to the running maximum).

Open-Meteo's clients (an address or an ``apikey``) get the same, plus the weighted calls their
answers were charged (``open_meteo_quota``), in total and at most in any rolling 60 s."""

from __future__ import annotations

from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from mock_owm.open_meteo_quota import MAX_CLIENTS, as_calls
from mock_owm.ratelimit import WINDOW_S

MISSING_KEY = "<missing>"
INVALID_KEY = "<invalid>"
OTHER_CLIENTS = "<other>"  # Open-Meteo clients past MAX_CLIENTS, counted together


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


class WeightedWindowPeak:
    """Like ``WindowPeak``, for events that carry a weight (integer units): the most weight in any
    trailing 60 s window."""

    __slots__ = ("_events", "_sum", "peak")

    def __init__(self) -> None:
        self._events: deque[tuple[float, int]] = deque()
        self._sum = 0
        self.peak = 0

    def _trim(self, now_s: float) -> None:
        cutoff = now_s - WINDOW_S
        events = self._events
        while events and events[0][0] <= cutoff:
            self._sum -= events.popleft()[1]

    def add(self, t_s: float, units: int) -> None:
        self._trim(t_s)
        self._events.append((t_s, units))
        self._sum += units
        if self._sum > self.peak:
            self.peak = self._sum

    def current(self, now_s: float) -> int:
        self._trim(now_s)
        return self._sum


class KeyStats:
    __slots__ = ("admitted", "admitted_window", "checked_window", "rate_limited", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.admitted = 0
        self.rate_limited = 0
        self.checked_window = WindowPeak()  # every request that reached the quota check
        self.admitted_window = WindowPeak()  # only those the quota admitted

    def checked(self, t_s: float, *, admitted: bool) -> None:
        """One request reached the quota check at ``t_s``; the quota admitted it or not."""
        self.requests += 1
        self.checked_window.add(t_s)
        if admitted:
            self.admitted += 1
            self.admitted_window.add(t_s)
        else:
            self.rate_limited += 1

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


class ClientStats(KeyStats):
    """An Open-Meteo client: its requests as ``KeyStats`` counts a key's, and the calls charged."""

    __slots__ = ("charged", "charged_window")

    def __init__(self) -> None:
        super().__init__()
        self.charged = 0  # units of open_meteo_quota.UNITS_PER_CALL
        self.charged_window = WeightedWindowPeak()

    def snapshot(self, mono_s: float) -> dict[str, Any]:
        return {
            **super().snapshot(mono_s),
            "calls_charged": as_calls(self.charged),
            "max_calls_charged_in_any_60s": as_calls(self.charged_window.peak),
            "calls_charged_in_last_60s": as_calls(self.charged_window.current(mono_s)),
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
        self.open_meteo_rate_limited: Counter[str] = Counter()
        self.open_meteo_charged = 0
        self.clients: dict[str, ClientStats] = {}

    def request(self, endpoint: str, key_label: str | None = None) -> None:
        """One API request; ``key_label`` is its OWM key (Open-Meteo requests have none)."""
        self.total += 1
        self.by_endpoint[endpoint] += 1
        if key_label is not None:
            self.by_key[key_label] += 1

    def quota_checked(self, key: str, t_s: float, refused_by: str | None) -> None:
        stats = self.keys.get(key)
        if stats is None:
            stats = self.keys[key] = KeyStats()
        stats.checked(t_s, admitted=refused_by is None)
        if refused_by is not None:
            self.rate_limited[refused_by] += 1

    def _client(self, client: str) -> ClientStats:
        stats = self.clients.get(client)
        if stats is None:
            if len(self.clients) >= MAX_CLIENTS:
                client = OTHER_CLIENTS
                stats = self.clients.get(client)
            if stats is None:
                stats = self.clients[client] = ClientStats()
        return stats

    def open_meteo_checked(self, client: str, t_s: float, refused_by: str | None) -> None:
        self._client(client).checked(t_s, admitted=refused_by is None)
        if refused_by is not None:
            self.open_meteo_rate_limited[refused_by] += 1

    def open_meteo_charged_call(self, client: str, t_s: float, units: int) -> None:
        stats = self._client(client)
        stats.charged += units
        stats.charged_window.add(t_s, units)
        self.open_meteo_charged += units

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
            "open_meteo": {
                "calls_charged": as_calls(self.open_meteo_charged),
                "rate_limited": dict(self.open_meteo_rate_limited),
                "clients": {name: s.snapshot(mono_s) for name, s in self.clients.items()},
            },
        }
