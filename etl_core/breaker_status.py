"""A circuit breaker's state as the next caller would find it, read with read commands only.

An operator's status view may run under a read-only ACL user, which may not run scripts (a script
could write, and a busy one blocks the server), so this works out in Python what
``scripts/breaker_before_call.lua`` would find: TIME, HMGET and LRANGE, in one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from etl_core import keys


class BreakerCode(IntEnum):
    """The one integer coding of a breaker's state: the state hash stores it, the scripts return
    it (their ``CLOSED, OPEN, HALF_OPEN``; a test holds them equal) and the ``breaker_state``
    gauge shows it. The hash outlives a deploy and is shared by old and new replicas during a
    rolling upgrade, so a code never changes meaning."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2

    @property
    def state(self) -> BreakerState:
        return BreakerState[self.name]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    @property
    def code(self) -> BreakerCode:
        return BreakerCode[self.name]


# A window entry is '<code><server time in ms>' (scripts/breaker_window.lua).
FAILURE_CODES = (ord("f"), ord("F"))
SLOW_CODES = (ord("O"), ord("F"))


@dataclass(frozen=True)
class BreakerStatus:
    """A breaker as the next caller would find it, for status views and metrics."""

    name: str
    state: BreakerState
    window_calls: int  # outcomes in the window now
    window_failures: int
    window_slow_calls: int
    opened_at_ms: int | None  # server clock, Unix ms; None unless open or half-open
    retry_after_s: float  # 0.0 when a call would be admitted now
    trials_in_flight: int
    server_time_ms: int

    @property
    def failure_rate(self) -> float | None:
        """Failures / outcomes in the window; None while it is empty."""
        return self.window_failures / self.window_calls if self.window_calls else None


def _stored_int(value: Any) -> int:
    """A number the scripts stored in the state hash (missing: 0, as their ``tonumber() or 0``)."""
    return 0 if value is None else int(float(value))


def window_counts(entries: Sequence[Any], *, now_ms: int, window_ms: int) -> tuple[int, int, int]:
    """Calls, failures and slow calls among the window's outcomes reported in the last
    ``window_ms``: ``window_counts`` of ``scripts/breaker_window.lua`` (a test holds them equal)."""
    since_ms = now_ms - window_ms
    calls = failures = slow = 0
    for entry in entries:
        raw = entry.encode() if isinstance(entry, str) else bytes(entry)
        if int(raw[1:]) > since_ms:
            calls += 1
            failures += raw[0] in FAILURE_CODES
            slow += raw[0] in SLOW_CODES
    return calls, failures, slow


async def read_status(
    client: Any, name: str, *, reset_ms: int, half_open_max_calls: int, window_ms: int
) -> BreakerStatus:
    """Breaker ``name``'s status (``client``: a ``redis.asyncio`` client). An open breaker whose
    reset timeout has passed is reported half-open: the next call turns it so."""
    pipe = client.pipeline(transaction=False)
    pipe.time()
    pipe.hmget(keys.breaker(name), ["state", "opened_at_ms", "trials", "trial_deadline_ms"])
    pipe.lrange(keys.breaker_calls(name), 0, -1)
    (now_s, now_us), stored, entries = await pipe.execute()
    now_ms = int(now_s) * 1000 + int(now_us) // 1000
    stored_code, opened_at_ms, trials, trial_deadline_ms = (_stored_int(v) for v in stored)
    code = BreakerCode(stored_code)
    retry_after_ms = 0
    if code is BreakerCode.CLOSED:
        opened_at_ms = 0
    elif code is BreakerCode.OPEN:
        if now_ms < opened_at_ms + reset_ms:
            retry_after_ms = opened_at_ms + reset_ms - now_ms
        else:
            code, trials = BreakerCode.HALF_OPEN, 0
    elif trials >= half_open_max_calls:
        if now_ms < trial_deadline_ms:
            retry_after_ms = trial_deadline_ms - now_ms
        else:
            trials = 0
    calls, failures, slow = window_counts(entries, now_ms=now_ms, window_ms=window_ms)
    return BreakerStatus(
        name=name,
        state=code.state,
        window_calls=calls,
        window_failures=failures,
        window_slow_calls=slow,
        opened_at_ms=opened_at_ms or None,
        retry_after_s=retry_after_ms / 1000,
        trials_in_flight=trials,
        server_time_ms=now_ms,
    )
