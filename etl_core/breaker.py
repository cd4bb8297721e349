"""A circuit breaker shared by every replica through Redis, so none of them hammers a dead service.

Why not pybreaker: its Redis storage is synchronous (it would block our event loop) and updates
state by non-atomic read-modify-write, so replicas race and lose counts or transitions. Here every
transition is one Lua script (``scripts/breaker_*.lua``) on the Redis server clock.

States: CLOSED admits every call and opens after ``failure_threshold`` consecutive transient
failures. OPEN refuses calls with ``BreakerOpen(retry_after_s=...)`` (the runtime reschedules the
task without spending an attempt) until ``reset_timeout_s`` has passed; the next call then turns it
HALF_OPEN and is admitted as a trial, as are up to ``half_open_max_calls`` trials at once across
every replica. A trial success closes it; a trial failure re-opens it with a fresh timeout.

Only ``TransientError`` counts as a failure. A ``PermanentError`` (a 4xx) means the service
answered, so it counts as a success and resets the count. Callers translate timeouts and
connection errors into ``TransientError`` where they enter. Every replica sharing a name should
use the same options; each passes its own to the scripts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from etl_core import keys
from etl_core.errors import BreakerOpen, PermanentError, TransientError
from etl_core.logging import get_logger
from etl_core.scripts import register

T = TypeVar("T")

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_RESET_TIMEOUT_S = 30.0
DEFAULT_HALF_OPEN_MAX_CALLS = 1
# The state hash expires after this long without a write (an idle breaker leaves nothing behind);
# never less than ten reset timeouts, so an open breaker cannot expire into a closed one early.
DEFAULT_STATE_TTL_S = 24 * 3600.0
STATE_TTL_RESET_TIMEOUTS = 10

log = get_logger(__name__, component="breaker")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# The scripts store and return states as these integer codes.
_STATE_CODES = {0: BreakerState.CLOSED, 1: BreakerState.OPEN, 2: BreakerState.HALF_OPEN}
_CLOSED_CODE = 0

StateChangeHook = Callable[[str, BreakerState, BreakerState], object]
"""Called as ``hook(name, old_state, new_state)`` by the replica whose call made the transition."""


@dataclass(frozen=True)
class BreakerStatus:
    """A breaker as the next caller would find it, for ``trail-etl status`` and metrics."""

    name: str
    state: BreakerState
    consecutive_failures: int
    opened_at_ms: int | None  # server clock, Unix ms; None unless open or half-open
    retry_after_s: float  # 0.0 when a call would be admitted now
    trials_in_flight: int
    server_time_ms: int


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"circuit breaker {what} must be a positive int, got {value!r}")
    return value


class CircuitBreaker:
    """The breaker named ``name``; every instance with that name, in any process, shares it."""

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        reset_timeout_s: float = DEFAULT_RESET_TIMEOUT_S,
        half_open_max_calls: int = DEFAULT_HALF_OPEN_MAX_CALLS,
        on_state_change: StateChangeHook | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"circuit breaker name must be a non-empty string, got {name!r}")
        self.failure_threshold = _positive_int(failure_threshold, "failure_threshold")
        self.half_open_max_calls = _positive_int(half_open_max_calls, "half_open_max_calls")
        if isinstance(reset_timeout_s, bool) or not reset_timeout_s > 0:
            raise ValueError(
                f"circuit breaker reset_timeout_s must be positive, got {reset_timeout_s!r}"
            )
        self.reset_timeout_s = float(reset_timeout_s)
        self.client = client
        self.name = name
        self.on_state_change = on_state_change
        self._key = keys.breaker(name)
        self._reset_ms = max(1, round(self.reset_timeout_s * 1000))
        self._ttl_ms = max(
            round(DEFAULT_STATE_TTL_S * 1000), STATE_TTL_RESET_TIMEOUTS * self._reset_ms
        )
        self._before_call = register(client, "breaker_before_call")
        self._record = register(client, "breaker_record")
        self._status = register(client, "breaker_status")
        self._log = log.bind(breaker=name)

    async def _admit(self) -> tuple[bool, bool]:
        """Admit one call or raise ``BreakerOpen``. Returns (admitted as a half-open trial,
        admitted while closed with no failure counted)."""
        reply = await self._before_call(
            keys=[self._key], args=[self._reset_ms, self.half_open_max_calls, self._ttl_ms]
        )
        admitted, trial, retry_after_ms, before, after, failures = (int(x) for x in reply)
        self._transition(before, after, failures=failures)
        if not admitted:
            raise BreakerOpen(
                f"circuit breaker {self.name!r} is {_STATE_CODES[after]}",
                retry_after_s=retry_after_ms / 1000,
            )
        return bool(trial), after == _CLOSED_CODE and failures == 0 and not trial

    async def before_call(self) -> None:
        """Return if a call may go ahead now; else raise ``BreakerOpen(retry_after_s=...)``.

        A call admitted here must be reported with ``record_success`` or ``record_failure``.
        """
        await self._admit()

    async def record_success(self) -> None:
        """The service answered (a permanent error counts too): reset the count; close a trial.

        While open it changes nothing: such a call was admitted before the breaker opened.
        """
        await self._report("success")

    async def record_failure(self) -> None:
        """A transient failure: count it; open at the threshold, or re-open from half-open."""
        await self._report("failure")

    async def _report(self, outcome: str) -> None:
        reply = await self._record(
            keys=[self._key], args=[outcome, self.failure_threshold, self._ttl_ms]
        )
        before, after, failures, _opened_at_ms = (int(x) for x in reply)
        self._transition(before, after, failures=failures)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` through the breaker and record its outcome.

        ``TransientError`` is recorded as a failure, ``PermanentError`` as a success; both are
        re-raised. Any other exception (a bug, ``RateLimited``, cancellation) is no verdict on the
        service: it records nothing, and a half-open trial slot it held is given back.

        A success of a call admitted while the breaker was closed with no failure counted is not
        sent: it would reset nothing (one Redis round trip less per call in the common case). A
        failure another replica records meanwhile then stands until the next success.
        """
        trial, clean = await self._admit()
        try:
            result = await fn()
        except TransientError:
            await self.record_failure()
            raise
        except PermanentError:
            if not clean:
                await self.record_success()
            raise
        except BaseException:
            if trial:
                await self._report("release")
            raise
        if not clean:
            await self.record_success()
        return result

    async def status(self) -> BreakerStatus:
        """The state the next caller would find (read only)."""
        reply = await self._status(
            keys=[self._key], args=[self._reset_ms, self.half_open_max_calls]
        )
        state, failures, opened_at_ms, retry_after_ms, trials, now_ms = (int(x) for x in reply)
        return BreakerStatus(
            name=self.name,
            state=_STATE_CODES[state],
            consecutive_failures=failures,
            opened_at_ms=opened_at_ms or None,
            retry_after_s=retry_after_ms / 1000,
            trials_in_flight=trials,
            server_time_ms=now_ms,
        )

    def _transition(self, before_code: int, after_code: int, *, failures: int) -> None:
        if before_code == after_code:
            return
        before, after = _STATE_CODES[before_code], _STATE_CODES[after_code]
        emit = self._log.warning if after is BreakerState.OPEN else self._log.info
        emit(
            "breaker_state_changed",
            from_state=str(before),
            to_state=str(after),
            consecutive_failures=failures,
        )
        if self.on_state_change is None:
            return
        try:
            self.on_state_change(self.name, before, after)
        except Exception:
            self._log.exception(
                "breaker_state_change_hook_failed", from_state=str(before), to_state=str(after)
            )
