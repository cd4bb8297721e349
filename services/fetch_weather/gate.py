"""Every paid call of a weather source passes here: answer cache, circuit breaker, call slots, rate
limiter. One gate per source: its cache keys, breaker and limiter carry the source's name.

The answer is cached in Redis right after it arrives (key from ``services.fetch_weather.keys``),
so a task redelivered after a crash reuses it instead of paying for a second call. Only what its
reader needs is kept (the caller's ``keep``: the transform's fields), zlib-compressed after the time
it was fetched, for about one schedule window (``cache_ttl_s``): a redelivery comes within that,
and the next window's task is another request. An answer its reader finds malformed is dropped
(``forget``), so the retry asks again. Order of the checks: the cache, then the breaker (an open
breaker spends no permit), then a call slot (at most ``max_concurrent_calls`` calls of this
process in flight), then the shared rate limiter, then the call.

A 429 for a call is reported to the shared limiter with the permit it was admitted on (one script
call): the limiter weighs it as evidence that our view of the quota is wrong and may lower every
replica's rate (``etl_core.ratelimit_adaptive``). Its answer says when the next permit is free, and
without a ``Retry-After`` that is how long the task waits (at most ``MAX_429_WAIT_S``): a stray
429 costs its task a moment, not the provider's ten minutes.

The call slots are separate from the worker's task slots: a task whose answer has arrived gives its
call slot to the next task while it writes its records to the weather service, so the calls stay
back to back (tasks in flight > calls in flight; ``FETCH_MAX_IN_FLIGHT``).

A transient failure (5xx, timeout, malformed answer) is retried here a few times with a short,
jittered backoff (tenacity), each attempt again through breaker and limiter, before the task is
handed back to the runtime's slower retry: with a 20% error rate most tasks then finish in one
delivery instead of burning their ``max_deliveries``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
)

from etl_core.backoff import jittered_wait
from etl_core.breaker import CircuitBreaker
from etl_core.logging import get_logger
from etl_core.ratelimit import Admission, RateLimiter
from services.clock import Clock, utc_now
from services.fetch_weather import keys as fetch_keys
from services.fetch_weather.errors import (
    DEFAULT_429_RETRY_AFTER_S,
    SourceRateLimited,
    SourceUnavailable,
)

DEFAULT_TRANSIENT_ATTEMPTS = 3
TRANSIENT_WAIT_BASE_S = 0.2
TRANSIENT_WAIT_MAX_S = 2.0
# A 429 without Retry-After waits for the limiter's next free permit, but never longer than the
# provider's minute (the next free permit can be hours away when the day is used up: the task
# then waits in our limiter, spending no provider call).
MAX_429_WAIT_S = DEFAULT_429_RETRY_AFTER_S

SlotWaitHook = Callable[[str, float], object]  # (pool, seconds waited)
CallHook = Callable[[str, str, str], object]  # (source, endpoint, outcome: "ok" or error type)
log = get_logger("services.fetch_weather.gate")


def call_slots_pool(source: str) -> str:
    """The pool name a source's call-slot waits are reported under (metrics)."""
    return f"{source}-calls"


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    answer: dict[str, Any]
    fetched_at: datetime
    from_cache: bool


Keep = Callable[[dict[str, Any]], dict[str, Any]]  # the part of an answer worth caching
COMPRESSED = b"z1\n"  # marks the cached form: zlib-compressed JSON of what was kept
# Level 1: the kept answer is repetitive JSON that compresses almost as well as at level 6, at a
# fraction of the CPU (every fetched answer is compressed once).
ZLIB_LEVEL = 1


def _keep_all(answer: dict[str, Any]) -> dict[str, Any]:
    return answer


def _encode_cached(answer: dict[str, Any], fetched_at: datetime) -> bytes:
    """``z1\n<fetched_at ISO 8601>\n<zlib of the kept answer's JSON>``."""
    packed = zlib.compress(orjson.dumps(answer), ZLIB_LEVEL)
    return COMPRESSED + fetched_at.isoformat().encode() + b"\n" + packed


def _decode_cached(stored: bytes) -> tuple[dict[str, Any], datetime] | None:
    """The cached answer and when it was fetched; None for anything else (then asked again)."""
    if not stored.startswith(COMPRESSED):
        return None
    stamp, _, packed = stored[len(COMPRESSED) :].partition(b"\n")
    try:
        return orjson.loads(zlib.decompress(packed)), datetime.fromisoformat(stamp.decode())
    except (zlib.error, orjson.JSONDecodeError, ValueError):
        return None


class SourceGate:
    def __init__(
        self,
        redis: Any,
        source: str,
        *,
        limiter: RateLimiter,
        breaker: CircuitBreaker,
        cache_ttl_s: int,
        rate_limit_wait_s: float,
        transient_attempts: int = DEFAULT_TRANSIENT_ATTEMPTS,
        max_concurrent_calls: int | None = None,
        on_slot_wait: SlotWaitHook | None = None,
        on_call: CallHook | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """``source``: the source's name (its cache keys and slot-wait reports carry it);
        ``max_concurrent_calls``: calls of this gate in flight at once (None: no bound);
        ``on_slot_wait`` (metrics) hears of every call that had to wait for a slot, ``on_call`` of
        every call made to the provider and its outcome."""
        if max_concurrent_calls is not None and max_concurrent_calls < 1:
            raise ValueError(f"max_concurrent_calls must be at least 1, got {max_concurrent_calls}")
        self._redis = redis
        self._source = source
        self._limiter = limiter
        self._breaker = breaker
        self._cache_ttl_s = cache_ttl_s
        self._rate_limit_wait_s = rate_limit_wait_s
        self._transient_attempts = transient_attempts
        self._call_slots = asyncio.Semaphore(max_concurrent_calls) if max_concurrent_calls else None
        self._on_slot_wait = on_slot_wait
        self._on_call = on_call
        self._clock = clock

    async def fetch(
        self,
        endpoint: str,
        identity: str,
        call: Callable[[], Awaitable[dict[str, Any]]],
        *,
        keep: Keep = _keep_all,
    ) -> CachedAnswer:
        """The answer of ``call`` cut to ``keep(answer)``, from the cache when this request was
        made before (a fresh answer is cut too, so both read the same)."""
        key = fetch_keys.answer_cache(self._source, endpoint, identity)
        raw = await self._redis.get(key)
        cached = None if raw is None else _decode_cached(raw)
        if cached is not None:
            answer, fetched_at = cached
            return CachedAnswer(answer=answer, fetched_at=fetched_at, from_cache=True)

        async def limited() -> dict[str, Any]:
            # The permit is taken in the slot, right before the call: a permit's call must not
            # wait for a slot (the rate limit's margin covers only short delays).
            async with self._call_slot():
                admission = await self._limiter.acquire(timeout_s=self._rate_limit_wait_s)
                try:
                    answer = await call()
                except SourceRateLimited as refused:
                    self._count(endpoint, type(refused).__name__)
                    await self._report_refusal(refused, admission)
                    raise
                except Exception as failed:
                    self._count(endpoint, type(failed).__name__)
                    raise
                self._count(endpoint, "ok")
                return answer

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(SourceUnavailable),
            stop=stop_after_attempt(self._transient_attempts),
            wait=jittered_wait(base_s=TRANSIENT_WAIT_BASE_S, max_s=TRANSIENT_WAIT_MAX_S),
            reraise=True,
        ):
            with attempt:
                answer = await self._breaker.call(limited)
        answer = keep(answer)
        fetched_at = self._clock()
        await self._redis.set(key, _encode_cached(answer, fetched_at), ex=self._cache_ttl_s)
        log.debug("answer_cached", source=self._source, endpoint=endpoint, identity=identity)
        return CachedAnswer(answer=answer, fetched_at=fetched_at, from_cache=False)

    def _count(self, endpoint: str, outcome: str) -> None:
        if self._on_call is None:
            return
        try:
            self._on_call(self._source, endpoint, outcome)
        except Exception:  # metrics must not fail a paid call
            log.exception("call_hook_failed")

    async def _report_refusal(self, refused: SourceRateLimited, admission: Admission) -> None:
        """Tell the shared limiter; without a Retry-After, wait for its next free permit."""
        try:
            refusal = await self._limiter.report_refusal(admission)
        except Exception as exc:  # the 429 must stay a wait: keep the client's default
            log.warning("refusal_not_reported", error=repr(exc))
            return
        if not refused.from_header:
            refused.retry_after_s = min(refusal.next_permit_s, MAX_429_WAIT_S)

    @contextlib.asynccontextmanager
    async def _call_slot(self) -> AsyncIterator[None]:
        slots, hook = self._call_slots, self._on_slot_wait
        if slots is None:
            yield
            return
        waiting = slots.locked()
        started = time.monotonic()
        async with slots:
            if waiting and hook is not None:
                try:
                    hook(call_slots_pool(self._source), time.monotonic() - started)
                except Exception:  # metrics must not fail a paid call
                    log.exception("slot_wait_hook_failed")
            yield

    async def forget(self, endpoint: str, identity: str) -> None:
        """Drop a cached answer (it was malformed: the next try must ask again)."""
        await self._redis.delete(fetch_keys.answer_cache(self._source, endpoint, identity))
