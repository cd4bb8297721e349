"""What the shared rate limiter answers: one check (``Admission``), one refusal report
(``Refusal``) and its usage (``RateLimitUsage``, for ``status`` and metrics)."""

from __future__ import annotations

from dataclasses import dataclass

MINUTE_MS = 60_000
US_PER_S = 1_000_000


@dataclass(frozen=True)
class Admission:
    """The answer of one check: admitted or not, how long to wait, and when (server clock).

    ``factor`` is the admission factor the check was made under (1.0: the configured limits)."""

    admitted: bool
    wait_s: float
    server_time_us: int
    factor: float = 1.0


@dataclass(frozen=True)
class Refusal:
    """What ``report_refusal`` found: whether it lowered the factor, the factor now, the
    refusals in the evidence window (this one included) and the wait for the next permit."""

    lowered: bool
    factor: float
    recent_refusals: int
    next_permit_s: float
    server_time_us: int


@dataclass(frozen=True)
class WindowUsage:
    """Permits used in the rolling window of ``window_ms`` that ends at the time of the query,
    its configured limit and its ``effective_limit`` under the admission factor."""

    window_ms: int
    limit: int
    used: int
    effective_limit: int


@dataclass(frozen=True)
class RateLimitUsage:
    """What a limiter has used, for ``trail-etl status`` and metrics."""

    name: str
    windows: tuple[WindowUsage, ...]
    per_day: int | None
    used_today: int
    server_time_us: int
    factor: float = 1.0
    throttled_since_us: int | None = None  # server clock; None while the factor is 1
    recent_refusals: int = 0  # refusals of permits admitted in the evidence window
    next_permit_s: float = 0.0  # how long one permit would wait now

    def window(self, window_ms: int) -> WindowUsage | None:
        return next((w for w in self.windows if w.window_ms == window_ms), None)

    @property
    def per_minute(self) -> int | None:
        minute = self.window(MINUTE_MS)
        return None if minute is None else minute.limit

    @property
    def effective_per_minute(self) -> int | None:
        """The per-minute limit under the admission factor, or None without one."""
        minute = self.window(MINUTE_MS)
        return None if minute is None else minute.effective_limit

    @property
    def used_this_minute(self) -> int | None:
        """Permits used in the last rolling 60 s, or None without a per-minute limit."""
        minute = self.window(MINUTE_MS)
        return None if minute is None else minute.used
