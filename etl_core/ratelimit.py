"""One rate limiter shared by every replica, exact on the Redis server clock.

Every check is one atomic Lua script (``scripts/rate_limit.lua``) that reads ``TIME`` on the
server, checks every limit at once (exact sliding windows such as "60 per rolling minute", and a
count per UTC calendar day) and reserves the permits in all of them only if all of them pass;
otherwise it says how long to wait. Worker clocks play no part, and there is no fixed window that
would let twice the limit through at a window edge.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from etl_core import keys
from etl_core.errors import RateLimited
from etl_core.logging import get_logger
from etl_core.scripts import register

MINUTE_MS = 60_000
US_PER_S = 1_000_000
# ``acquire`` sleeps the wait the script returned plus a random jitter up to this, so replicas
# woken by the same freed permit do not all ask again in the same instant.
DEFAULT_ACQUIRE_MAX_JITTER_S = 0.005

log = get_logger(__name__, component="ratelimit")

WaitHook = Callable[[str, float], object]
"""Called as ``hook(name, waited_s)`` once per ``acquire`` that had to sleep (metrics)."""


@dataclass(frozen=True)
class Admission:
    """The answer of one check: admitted or not, how long to wait, and when (server clock)."""

    admitted: bool
    wait_s: float
    server_time_us: int


@dataclass(frozen=True)
class WindowUsage:
    """Permits used in the rolling window of ``window_ms`` that ends at the time of the query."""

    window_ms: int
    limit: int
    used: int


@dataclass(frozen=True)
class RateLimitUsage:
    """What a limiter has used, for ``trail-etl status`` and metrics."""

    name: str
    windows: tuple[WindowUsage, ...]
    per_day: int | None
    used_today: int
    server_time_us: int

    def window(self, window_ms: int) -> WindowUsage | None:
        return next((w for w in self.windows if w.window_ms == window_ms), None)

    @property
    def per_minute(self) -> int | None:
        minute = self.window(MINUTE_MS)
        return None if minute is None else minute.limit

    @property
    def used_this_minute(self) -> int | None:
        """Permits used in the last rolling 60 s, or None without a per-minute limit."""
        minute = self.window(MINUTE_MS)
        return None if minute is None else minute.used


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"rate limit {what} must be a positive int, got {value!r}")
    return value


class RateLimiter:
    """Limits named ``name``, shared through Redis by every process that uses the same name.

    ``per_minute`` is a sliding window of 60 000 ms; ``windows`` adds (window_ms, limit) pairs,
    e.g. ``(1_000, 5)`` for five per rolling second. ``per_day`` counts per UTC calendar day.
    Every process that shares ``name`` must configure the same limits. ``on_wait`` (metrics) is
    told how long each ``acquire`` that had to sleep slept; a failing hook is logged, not raised.
    """

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        per_minute: int | None = None,
        per_day: int | None = None,
        windows: Sequence[tuple[int, int]] = (),
        on_wait: WaitHook | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"rate limiter name must be a non-empty string, got {name!r}")
        pairs: list[tuple[int, int]] = []
        if per_minute is not None:
            pairs.append((MINUTE_MS, _positive_int(per_minute, "per_minute")))
        for pair in windows:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ValueError(
                    f"rate limit windows must be (window_ms, limit) pairs, got {pair!r}"
                )
            window_ms, limit = pair
            pairs.append((_positive_int(window_ms, "window_ms"), _positive_int(limit, "limit")))
        seen: set[int] = set()
        for window_ms, _ in pairs:
            if window_ms in seen:
                raise ValueError(f"rate limit window of {window_ms} ms is configured twice")
            seen.add(window_ms)
        self.per_day = None if per_day is None else _positive_int(per_day, "per_day")
        if not pairs and self.per_day is None:
            raise ValueError(
                "a rate limiter needs at least one limit: per_minute, per_day or windows"
            )
        self.client = client
        self.name = name
        self.on_wait = on_wait
        self.windows: tuple[tuple[int, int], ...] = tuple(pairs)
        self._keys = [keys.rate_limit_day(name)] + [
            keys.rate_limit_window(name, window_ms) for window_ms, _ in pairs
        ]
        self._limit_args = [str(x) for pair in pairs for x in pair]
        self._script = register(client, "rate_limit")

    def _check_n(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        for window_ms, limit in self.windows:
            if n > limit:
                raise ValueError(
                    f"n={n} can never pass rate limiter {self.name!r}: its window of "
                    f"{window_ms} ms allows {limit}"
                )
        if self.per_day is not None and n > self.per_day:
            raise ValueError(
                f"n={n} can never pass rate limiter {self.name!r}: it allows {self.per_day} per day"
            )

    async def _run(self, n: int) -> list[int]:
        args = [str(n), secrets.token_hex(8), str(self.per_day or 0), *self._limit_args]
        reply = await self._script(keys=self._keys, args=args)
        return [int(x) for x in reply]

    async def try_acquire(self, n: int = 1) -> Admission:
        """Reserve ``n`` permits in every limit if all of them allow it, else reserve none."""
        self._check_n(n)
        admitted, wait_us, now_us, *_ = await self._run(n)
        return Admission(admitted=bool(admitted), wait_s=wait_us / US_PER_S, server_time_us=now_us)

    async def acquire(self, n: int = 1, *, timeout_s: float) -> Admission:
        """Wait until ``n`` permits are reserved; ``RateLimited`` if that cannot happen in time.

        Sleeps the wait the server returned (plus a little jitter, never past the deadline) and
        asks again. Raises ``RateLimited(retry_after_s=...)`` as soon as the wait would end after
        ``timeout_s``; ``timeout_s=0`` tries exactly once.
        """
        if timeout_s < 0:
            raise ValueError(f"timeout_s must not be negative, got {timeout_s}")
        deadline = time.monotonic() + timeout_s
        waited_s = 0.0
        while True:
            admission = await self.try_acquire(n)
            if admission.admitted:
                self._report_wait(waited_s)
                return admission
            remaining_s = deadline - time.monotonic()
            if admission.wait_s > remaining_s:
                self._report_wait(waited_s)
                log.debug("rate_limited", limiter=self.name, n=n, retry_after_s=admission.wait_s)
                raise RateLimited(
                    f"rate limiter {self.name!r}: {n} permit(s) not available within {timeout_s}s",
                    retry_after_s=admission.wait_s,
                )
            jitter_s = random.uniform(0.0, DEFAULT_ACQUIRE_MAX_JITTER_S)
            sleep_s = min(admission.wait_s + jitter_s, remaining_s)
            await asyncio.sleep(sleep_s)
            waited_s += sleep_s

    def _report_wait(self, waited_s: float) -> None:
        if self.on_wait is None or waited_s <= 0:
            return
        try:
            self.on_wait(self.name, waited_s)
        except Exception:
            log.exception("rate_limit_wait_hook_failed", limiter=self.name)

    async def usage(self) -> RateLimitUsage:
        """Permits used in each rolling window that ends now and today; reserves nothing."""
        _, _, now_us, day_used, *used = await self._run(0)
        return RateLimitUsage(
            name=self.name,
            windows=tuple(
                WindowUsage(window_ms=window_ms, limit=limit, used=count)
                for (window_ms, limit), count in zip(self.windows, used, strict=True)
            ),
            per_day=self.per_day,
            used_today=day_used,
            server_time_us=now_us,
        )
