"""One rate limiter shared by every replica, exact on the Redis server clock.

Every check is one atomic Lua script (``scripts/rate_limit.lua``) that reads ``TIME`` on the
server, checks every limit at once (exact sliding windows such as "60 per rolling minute", and a
count per UTC calendar day) and reserves the permits in all of them only if all of them pass;
otherwise it says how long to wait. Worker clocks play no part, and there is no fixed window that
would let twice the limit through at a window edge.

With ``adaptive`` (``ratelimit_adaptive.AdaptiveAdmission``) the limiter also hears of the
permits the service refused (``report_refusal``, one script call) and, on evidence that refusals
keep coming, lowers an admission factor shared by every replica that scales every window limit
(not the day's); the factor climbs back with time, computed by the same script on every check.
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
from etl_core.ratelimit_adaptive import (
    NOT_ADAPTIVE_ARGS,
    PPM,
    AdaptiveAdmission,
    effective_limit,
)
from etl_core.ratelimit_usage import (
    MINUTE_MS,
    US_PER_S,
    Admission,
    RateLimitUsage,
    Refusal,
    WindowUsage,
    read_usage,
)
from etl_core.scripts import register

# ``acquire`` sleeps the wait the script returned plus a random jitter up to this, so replicas
# woken by the same freed permit do not all ask again in the same instant.
DEFAULT_ACQUIRE_MAX_JITTER_S = 0.005

log = get_logger(__name__, component="ratelimit")

WaitHook = Callable[[str, float], object]
"""Called as ``hook(name, waited_s)`` once per ``acquire`` that had to sleep (metrics)."""
RefusalHook = Callable[[str, bool], object]
"""Called as ``hook(name, lowered)`` once per ``report_refusal`` (metrics)."""


@dataclass(frozen=True, slots=True)
class _Reply:
    """``rate_limit.lua``'s answer, field by field (see the script's header)."""

    admitted: int
    wait_us: int
    now_us: int
    day_used: int
    factor_ppm: int
    since_us: int
    refused: int
    lowered: int
    used: list[int]

    @classmethod
    def parse(cls, raw: Sequence[Any]) -> _Reply:
        a, w, now, day, factor, since, refused, lowered, *used = (int(x) for x in raw)
        return cls(a, w, now, day, factor, since, refused, lowered, used)


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"rate limit {what} must be a positive int, got {value!r}")
    return value


class RateLimiter:
    """Limits named ``name``, shared through Redis by every process that uses the same name.

    ``per_minute`` is a sliding window of 60 000 ms; ``windows`` adds (window_ms, limit) pairs,
    e.g. ``(1_000, 5)`` for five per rolling second. ``per_day`` counts per UTC calendar day.
    ``adaptive`` lets refusals reported by ``report_refusal`` lower every window limit (it needs
    a window at least as long as its evidence window). Every process that shares ``name`` must
    configure the same limits and the same ``adaptive``. ``on_wait`` (metrics) is told how long
    each ``acquire`` that had to sleep slept, ``on_refusal`` of each refusal reported; a failing
    hook is logged, not raised.
    """

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        per_minute: int | None = None,
        per_day: int | None = None,
        windows: Sequence[tuple[int, int]] = (),
        adaptive: AdaptiveAdmission | None = None,
        on_wait: WaitHook | None = None,
        on_refusal: RefusalHook | None = None,
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
        self.adaptive = adaptive
        self.on_wait = on_wait
        self.on_refusal = on_refusal
        self.windows: tuple[tuple[int, int], ...] = tuple(pairs)
        self._keys = [
            keys.rate_limit_day(name),
            keys.rate_limit_admission(name),
            keys.rate_limit_refusals(name),
        ] + [keys.rate_limit_window(name, window_ms) for window_ms, _ in pairs]
        self._tail_args = [
            str(self.per_day or 0),
            *(NOT_ADAPTIVE_ARGS if adaptive is None else adaptive.script_args(self._evidence())),
            *(str(x) for pair in pairs for x in pair),
        ]
        self._script = register(client, "rate_limit")
        # When this process last saw the factor below 1 (server clock), to say when it is back.
        self._throttled_since_us: int | None = None

    def _evidence(self) -> int:
        """The (1-based) window whose admissions are weighed against the refusals: the shortest
        one that covers the whole evidence window."""
        assert self.adaptive is not None
        wanted_ms = self.adaptive.evidence_window_ms
        covering = [(ms, i) for i, (ms, _) in enumerate(self.windows, 1) if ms >= wanted_ms]
        if not covering:
            raise ValueError(
                f"rate limiter {self.name!r} adapts on an evidence window of {wanted_ms} ms, "
                "so it needs a sliding window at least that long"
            )
        return min(covering)[1]

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

    async def _run(self, op: str, n: int, refused_at_us: int = 0) -> _Reply:
        args = [op, str(n), secrets.token_hex(8), str(refused_at_us), *self._tail_args]
        reply = _Reply.parse(await self._script(keys=self._keys, args=args))
        self._note_factor(reply)
        return reply

    def _note_factor(self, reply: _Reply) -> None:
        if reply.factor_ppm < PPM:
            self._throttled_since_us = reply.since_us
        elif self._throttled_since_us is not None:
            log.info(
                "rate_limit_recovered",
                limiter=self.name,
                throttled_for_s=round((reply.now_us - self._throttled_since_us) / US_PER_S, 1),
            )
            self._throttled_since_us = None

    async def try_acquire(self, n: int = 1) -> Admission:
        """Reserve ``n`` permits in every limit if all of them allow it, else reserve none."""
        self._check_n(n)
        reply = await self._run("take", n)
        return Admission(
            admitted=bool(reply.admitted),
            wait_s=reply.wait_us / US_PER_S,
            server_time_us=reply.now_us,
            factor=reply.factor_ppm / PPM,
        )

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

    async def report_refusal(self, admission: Admission) -> Refusal:
        """The service refused the call ``admission`` was for: count it as evidence, lower the
        factor if the evidence says so (see ``AdaptiveAdmission``), and say how long the next
        permit would wait now, on the server clock. One script call; reserves nothing."""
        if self.adaptive is None:
            raise ValueError(f"rate limiter {self.name!r} does not adapt: it has no adaptive")
        reply = await self._run("refused", 1, admission.server_time_us)
        refusal = Refusal(
            lowered=bool(reply.lowered),
            factor=reply.factor_ppm / PPM,
            recent_refusals=reply.refused,
            next_permit_s=reply.wait_us / US_PER_S,
            server_time_us=reply.now_us,
        )
        if refusal.lowered:
            log.warning(
                "rate_limit_lowered",
                limiter=self.name,
                factor=round(refusal.factor, 3),
                effective_limits={
                    ms: effective_limit(limit, reply.factor_ppm) for ms, limit in self.windows
                },
                recent_refusals=reply.refused,
                recovery_s=self.adaptive.recovery_s,
            )
        if self.on_refusal is not None:
            try:
                self.on_refusal(self.name, refusal.lowered)
            except Exception:
                log.exception("rate_limit_refusal_hook_failed", limiter=self.name)
        return refusal

    async def read_usage(self) -> RateLimitUsage:
        """``usage()`` from read commands only, for a read-only ACL user (a status view):
        the same counts and factor, without the wait for the next permit."""
        return await read_usage(
            self.client,
            name=self.name,
            keys=self._keys,
            windows=self.windows,
            per_day=self.per_day,
            evidence_window_ms=0 if self.adaptive is None else self.adaptive.evidence_window_ms,
        )

    async def usage(self) -> RateLimitUsage:
        """Permits used in each rolling window that ends now and today, the admission factor and
        the wait for the next permit; writes nothing."""
        reply = await self._run("peek", 1)
        return RateLimitUsage(
            name=self.name,
            windows=tuple(
                WindowUsage(
                    window_ms=window_ms,
                    limit=limit,
                    used=count,
                    effective_limit=effective_limit(limit, reply.factor_ppm),
                )
                for (window_ms, limit), count in zip(self.windows, reply.used, strict=True)
            ),
            per_day=self.per_day,
            used_today=reply.day_used,
            server_time_us=reply.now_us,
            factor=reply.factor_ppm / PPM,
            throttled_since_us=reply.since_us or None,
            recent_refusals=reply.refused,
            next_permit_s=reply.wait_us / US_PER_S,
        )
