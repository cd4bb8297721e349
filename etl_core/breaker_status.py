"""A circuit breaker's state as the next caller would find it, read with read commands only.

An operator's status view may run under a read-only ACL user, which may not run scripts (a script
could write, and a busy one blocks the server), so this works out in Python what
``scripts/breaker_before_call.lua`` would find: TIME, HMGET and LRANGE, in one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from etl_core import keys


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# The scripts store and return states as these integer codes.
CLOSED_CODE, OPEN_CODE, HALF_OPEN_CODE = 0, 1, 2
STATE_CODES = {
    CLOSED_CODE: BreakerState.CLOSED,
    OPEN_CODE: BreakerState.OPEN,
    HALF_OPEN_CODE: BreakerState.HALF_OPEN,
}
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
    code, opened_at_ms, trials, trial_deadline_ms = (_stored_int(v) for v in stored)
    retry_after_ms = 0
    if code == CLOSED_CODE:
        opened_at_ms = 0
    elif code == OPEN_CODE:
        if now_ms < opened_at_ms + reset_ms:
            retry_after_ms = opened_at_ms + reset_ms - now_ms
        else:
            code, trials = HALF_OPEN_CODE, 0
    elif trials >= half_open_max_calls:
        if now_ms < trial_deadline_ms:
            retry_after_ms = trial_deadline_ms - now_ms
        else:
            trials = 0
    calls, failures, slow = window_counts(entries, now_ms=now_ms, window_ms=window_ms)
    return BreakerStatus(
        name=name,
        state=STATE_CODES[code],
        window_calls=calls,
        window_failures=failures,
        window_slow_calls=slow,
        opened_at_ms=opened_at_ms or None,
        retry_after_s=retry_after_ms / 1000,
        trials_in_flight=trials,
        server_time_ms=now_ms,
    )
