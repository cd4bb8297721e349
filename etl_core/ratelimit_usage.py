"""What the shared rate limiter answers: one check (``Admission``), one refusal report
(``Refusal``) and its usage (``RateLimitUsage``, for ``status`` and metrics).

``read_usage`` reads the usage with read commands only, for a read-only ACL user (a status
view), which may not run scripts: a script could write, and a busy one blocks the server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MINUTE_MS = 60_000
US_PER_S = 1_000_000
PPM = 1_000_000
S_PER_DAY = 86_400


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
    """What a limiter has used, for status views and metrics."""

    name: str
    windows: tuple[WindowUsage, ...]
    per_day: int | None
    used_today: int
    server_time_us: int
    factor: float = 1.0
    throttled_since_us: int | None = None  # server clock; None while the factor is 1
    recent_refusals: int = 0  # refusals of permits admitted in the evidence window
    # How long one permit would wait now; None when read without the script (``read_usage``).
    next_permit_s: float | None = 0.0

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


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def factor_ppm(admission: Sequence[Any], now_us: int) -> tuple[int, int | None]:
    """The admission factor now and since when it is below 1, from the admission hash's
    ``factor_ppm, cut_us, full_us, since_us``: as ``rate_limit.lua`` computes it (the same
    floating-point steps, so the same whole ppm)."""
    cut_f, cut_us, full_us, since_us = (_number(v) for v in admission)
    if cut_f is None or full_us is None or full_us <= now_us:
        return PPM, None
    f = cut_f
    if cut_us is not None and now_us > cut_us:
        f = math.floor(cut_f + (PPM - cut_f) * (now_us - cut_us) / (full_us - cut_us))
    return int(f), None if since_us is None else int(since_us)


async def read_usage(
    client: Any,
    *,
    name: str,
    keys: Sequence[str],
    windows: Sequence[tuple[int, int]],
    per_day: int | None,
    evidence_window_ms: int,
) -> RateLimitUsage:
    """What ``RateLimiter.usage()`` reports, from TIME, HMGET and ZCOUNT in one round trip
    (``client``: a ``redis.asyncio`` client; ``keys`` the limiter's, in ``rate_limit.lua``'s
    order; ``evidence_window_ms`` 0 for a limiter that does not adapt). Only the wait for the
    next permit, which takes the script's search, is left out (``next_permit_s`` None)."""
    day_key, admission_key, refusals_key, *window_keys = keys
    pipe = client.pipeline(transaction=False)
    pipe.time()
    pipe.hmget(day_key, ["day", "count"])
    pipe.hmget(admission_key, ["factor_ppm", "cut_us", "full_us", "since_us"])
    (now_s, now_frac_us), day, admission = await pipe.execute()
    now_us = int(now_s) * US_PER_S + int(now_frac_us)
    counts = client.pipeline(transaction=False)
    evidence_us = evidence_window_ms * 1000
    if evidence_us:
        counts.zcount(refusals_key, f"({now_us - evidence_us}", "+inf")
    for key, (window_ms, _limit) in zip(window_keys, windows, strict=True):
        counts.zcount(key, f"({now_us - window_ms * 1000}", "+inf")
    replies = [int(x) for x in await counts.execute()]
    refused = replies.pop(0) if evidence_us else 0
    f, since_us = factor_ppm(admission, now_us) if evidence_us else (PPM, None)
    stored_day = _number(day[0])
    used_today = int(float(day[1] or 0)) if per_day and stored_day == now_s // S_PER_DAY else 0
    return RateLimitUsage(
        name=name,
        windows=tuple(
            WindowUsage(
                window_ms=window_ms,
                limit=limit,
                used=used,
                effective_limit=max(1, limit * f // PPM),
            )
            for (window_ms, limit), used in zip(windows, replies, strict=True)
        ),
        per_day=per_day,
        used_today=used_today,
        server_time_us=now_us,
        factor=f / PPM,
        throttled_since_us=since_us,
        recent_refusals=refused,
        next_permit_s=None,
    )
