"""A circuit breaker shared by every replica through Redis, so none of them hammers a dead service.

Why not pybreaker: its Redis storage is synchronous (it would block our event loop) and updates
state by non-atomic read-modify-write, so replicas race and lose counts or transitions. Here every
transition is one Lua script (``scripts/breaker_*.lua``) on the Redis server clock.

It opens on a failure *rate*, as resilience4j's breaker does, not on a streak: the outcomes of the
last ``window_calls`` calls of every replica, of those reported in the last ``window_s``, form a
sliding window; once it holds at least ``minimum_calls`` and the share of failures reaches
``failure_rate_threshold`` (or, when ``slow_call_duration_s`` is set, the share of calls slower
than that reaches ``slow_call_rate_threshold``), the breaker opens. A window counted in calls,
not seconds, opens after about as many failed calls whatever the call rate; the age limit keeps an
old outcome from lingering when calls are rare.

OPEN refuses calls with ``BreakerOpen(retry_after_s=...)`` (the runtime reschedules the task
without spending an attempt) until ``reset_timeout_s`` has passed; the next call then turns it
HALF_OPEN and is admitted as a trial, as are up to ``half_open_max_calls`` trials at once across
every replica. A trial success closes it with an empty window; a trial failure re-opens it with a
fresh timeout.

Only ``TransientError`` counts as a failure. A ``PermanentError`` (a 4xx) means the service
answered, so it counts as a success. Callers translate timeouts and connection errors into
``TransientError`` where they enter.

Cost: a failure is reported at once (one round trip, so an outage is seen as it happens); a
success is kept in this process and rides on its next admission or failure report, which makes
no extra round trip (a half-open trial's success, which closes the breaker, is sent at once).
Every replica sharing a name should use the same options; each passes its own to the scripts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from etl_core import keys
from etl_core.breaker_status import BreakerCode, BreakerState, BreakerStatus, read_status
from etl_core.errors import BreakerOpen, PermanentError, TransientError
from etl_core.logging import get_logger
from etl_core.scripts import register

T = TypeVar("T")

DEFAULT_FAILURE_RATE_THRESHOLD = 0.6
DEFAULT_MINIMUM_CALLS = 30
DEFAULT_WINDOW_CALLS = 60
DEFAULT_WINDOW_S = 120.0
DEFAULT_SLOW_CALL_RATE_THRESHOLD = 1.0
DEFAULT_RESET_TIMEOUT_S = 30.0
DEFAULT_HALF_OPEN_MAX_CALLS = 1
MAX_WINDOW_CALLS = 10_000
# The state hash expires after this long without a write (an idle breaker leaves nothing behind);
# never less than ten reset timeouts, so an open breaker cannot expire into a closed one early.
DEFAULT_STATE_TTL_S = 24 * 3600.0
STATE_TTL_RESET_TIMEOUTS = 10
SLOW_CHECK_OFF = 2  # a slow-call rate threshold above 1 tells the script never to open on it

log = get_logger(__name__, component="breaker")


StateChangeHook = Callable[[str, BreakerState, BreakerState], object]
"""Called as ``hook(name, old_state, new_state)`` by the replica whose call made the transition."""

Clock = Callable[[], float]


@dataclass(frozen=True)
class BreakerOptions:
    """When a breaker opens and how it recovers; every replica of one breaker uses the same."""

    failure_rate_threshold: float = DEFAULT_FAILURE_RATE_THRESHOLD
    minimum_calls: int = DEFAULT_MINIMUM_CALLS
    window_calls: int = DEFAULT_WINDOW_CALLS
    window_s: float = DEFAULT_WINDOW_S
    slow_call_duration_s: float | None = None  # None: slowness never opens the breaker
    slow_call_rate_threshold: float = DEFAULT_SLOW_CALL_RATE_THRESHOLD
    reset_timeout_s: float = DEFAULT_RESET_TIMEOUT_S
    half_open_max_calls: int = DEFAULT_HALF_OPEN_MAX_CALLS

    def __post_init__(self) -> None:
        for name in ("failure_rate_threshold", "slow_call_rate_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                raise ValueError(f"circuit breaker {name} must be in (0, 1], got {value!r}")
        for name in ("minimum_calls", "window_calls", "half_open_max_calls"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"circuit breaker {name} must be a positive int, got {value!r}")
        if self.window_calls > MAX_WINDOW_CALLS:
            raise ValueError(
                f"circuit breaker window_calls must be at most {MAX_WINDOW_CALLS}, "
                f"got {self.window_calls}"
            )
        if self.minimum_calls > self.window_calls:
            raise ValueError(
                f"circuit breaker minimum_calls ({self.minimum_calls}) must not exceed "
                f"window_calls ({self.window_calls}), or it could never open"
            )
        for name in ("window_s", "reset_timeout_s", "slow_call_duration_s"):
            value = getattr(self, name)
            if value is None and name == "slow_call_duration_s":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"circuit breaker {name} must be positive, got {value!r}")


class CircuitBreaker:
    """The breaker named ``name``; every instance with that name, in any process, shares it."""

    def __init__(
        self,
        client: Any,
        name: str,
        options: BreakerOptions | None = None,
        *,
        on_state_change: StateChangeHook | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"circuit breaker name must be a non-empty string, got {name!r}")
        self.options = o = options or BreakerOptions()
        self.client = client
        self.name = name
        self.on_state_change = on_state_change
        self._clock = clock
        self._keys = [keys.breaker(name), keys.breaker_calls(name)]
        self._reset_ms = max(1, round(o.reset_timeout_s * 1000))
        self._window_ms = max(1, round(o.window_s * 1000))
        self._ttl_ms = max(
            round(DEFAULT_STATE_TTL_S * 1000), STATE_TTL_RESET_TIMEOUTS * self._reset_ms
        )
        slow_rate = o.slow_call_rate_threshold if o.slow_call_duration_s else SLOW_CHECK_OFF
        self._rates = [repr(float(o.failure_rate_threshold)), repr(float(slow_rate))]
        self._unreported = 0  # successes not yet sent to Redis
        self._unreported_slow = 0
        self._before_call = register(client, "breaker_before_call")
        self._record = register(client, "breaker_record")
        self._log = log.bind(breaker=name)

    def _take_unreported(self) -> tuple[int, int]:
        taken = self._unreported, self._unreported_slow
        self._unreported = self._unreported_slow = 0
        return taken

    async def _admit(self) -> bool:
        """Admit one call or raise ``BreakerOpen``; True when admitted as a half-open trial."""
        successes, slow = self._take_unreported()
        o = self.options
        try:
            reply = await self._before_call(
                keys=self._keys,
                args=[
                    self._reset_ms,
                    o.half_open_max_calls,
                    self._ttl_ms,
                    successes,
                    slow,
                    o.window_calls,
                    self._window_ms,
                ],
            )
        except BaseException:
            self._unreported += successes  # not recorded: they ride on the next round trip
            self._unreported_slow += slow
            raise
        admitted, trial, retry_after_ms, before, after = (int(x) for x in reply)
        self._transition(before, after)
        if not admitted:
            raise BreakerOpen(
                f"circuit breaker {self.name!r} is {BreakerCode(after).state}",
                retry_after_s=retry_after_ms / 1000,
            )
        return bool(trial)

    async def before_call(self) -> None:
        """Return if a call may go ahead now; else raise ``BreakerOpen(retry_after_s=...)``.

        A call admitted here must be reported with ``record_success`` or ``record_failure``.
        """
        await self._admit()

    async def record_success(self, *, slow: bool = False, weight: int = 1) -> None:
        """The service answered (a permanent error counts too); closes a half-open breaker.

        While open it changes nothing: such a call was admitted before the breaker opened.
        """
        await self._report("success", slow=slow, weight=weight)

    async def record_failure(self, *, slow: bool = False, weight: int = 1) -> None:
        """A transient failure: into the window; opens the breaker past the threshold, or
        re-opens it from half-open."""
        await self._report("failure", slow=slow, weight=weight)

    async def flush(self) -> None:
        """Send the successes this instance has kept back (before a status read, at shutdown)."""
        if self._unreported:
            successes, slow = self._take_unreported()
            self._unreported, self._unreported_slow = successes - 1, max(0, slow - 1)
            await self._report("success", slow=slow > 0)

    async def _report(self, outcome: str, *, slow: bool = False, weight: int = 1) -> None:
        successes, slow_successes = self._take_unreported()
        o = self.options
        reply = await self._record(
            keys=self._keys,
            args=[
                outcome,
                weight,
                int(slow),
                successes,
                slow_successes,
                *self._rates,
                o.minimum_calls,
                o.window_calls,
                self._window_ms,
                self._ttl_ms,
            ],
        )
        before, after, calls, failures, _slow, _opened_at_ms = (int(x) for x in reply)
        self._transition(before, after, window_calls=calls, window_failures=failures)

    def _is_slow(self, started: float) -> bool:
        limit_s = self.options.slow_call_duration_s
        return limit_s is not None and self._clock() - started >= limit_s

    async def _succeeded(self, trial: bool, slow: bool, weight: int) -> None:
        if trial or slow:  # a trial's verdict, or a slow call that may open it: decide now
            await self._report("success", slow=slow, weight=weight)
            return
        self._unreported += weight

    async def call(self, fn: Callable[[], Awaitable[T]], *, weight: int = 1) -> T:
        """Run ``fn`` through the breaker and record its outcome.

        ``TransientError`` is recorded as a failure, ``PermanentError`` as a success; both are
        re-raised. Any other exception (a bug, ``RateLimited``, cancellation) is no verdict on the
        service: it records nothing, and a half-open trial slot it held is given back.

        ``weight``: the outcomes this call counts as. A request that carries the work of several
        callers at once fails (or serves) each of them, so its outcome weighs as much as theirs
        would have: otherwise batching would hide an outage from the window while every caller
        spends an attempt.
        """
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise ValueError(f"weight must be a positive int, got {weight!r}")
        trial = await self._admit()
        started = self._clock()
        try:
            result = await fn()
        except TransientError:
            await self._report("failure", slow=self._is_slow(started), weight=weight)
            raise
        except PermanentError:
            await self._succeeded(trial, self._is_slow(started), weight)
            raise
        except BaseException:
            if trial:
                await self._report("release")
            raise
        await self._succeeded(trial, self._is_slow(started), weight)
        return result

    async def status(self) -> BreakerStatus:
        """The state the next caller would find (this instance's kept-back successes are not in
        it until they are sent, see ``flush``); read commands only (``breaker_status``)."""
        return await read_status(
            self.client,
            self.name,
            reset_ms=self._reset_ms,
            half_open_max_calls=self.options.half_open_max_calls,
            window_ms=self._window_ms,
        )

    def _transition(self, before_code: int, after_code: int, **window: int) -> None:
        if before_code == after_code:
            return
        before, after = BreakerCode(before_code).state, BreakerCode(after_code).state
        emit = self._log.warning if after is BreakerState.OPEN else self._log.info
        emit("breaker_state_changed", from_state=str(before), to_state=str(after), **window)
        if self.on_state_change is None:
            return
        try:
            self.on_state_change(self.name, before, after)
        except Exception:
            self._log.exception(
                "breaker_state_change_hook_failed", from_state=str(before), to_state=str(after)
            )
