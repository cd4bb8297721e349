"""The shared circuit breaker, on fakeredis and on a real redis-server (the ``backend`` fixture).

Two ``CircuitBreaker`` instances on two clients stand for two replicas sharing one breaker. The
failure rate over many calls from several processes is in ``test_breaker_rate.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from etl_core import keys
from etl_core.breaker import BreakerOptions, BreakerState, CircuitBreaker
from etl_core.errors import BreakerOpen, PermanentError, RateLimited, TransientError
from tests.support.polling import await_until

RESET_S = 0.6  # long enough that a loaded machine cannot skip past OPEN between two calls


def small(**overrides: Any) -> BreakerOptions:
    """Opens at half of at least 4 outcomes among the last 10."""
    options: dict[str, Any] = {
        "failure_rate_threshold": 0.5,
        "minimum_calls": 4,
        "window_calls": 10,
        "reset_timeout_s": 30.0,
    }
    return BreakerOptions(**(options | overrides))


@pytest.fixture
async def clients(backend: Any) -> AsyncIterator[Callable[[], Any]]:
    """Makes more asyncio clients on the same Redis (one per replica); closes them all after."""
    made: list[Any] = []

    def make() -> Any:
        made.append(backend.make_async())
        return made[-1]

    yield make
    for client in made:
        await client.aclose()


async def fail() -> None:
    raise TransientError("503 from the service")


async def reject() -> None:
    raise PermanentError("404 unknown location")


async def ok() -> str:
    return "ok"


async def trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.options.minimum_calls):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    assert (await breaker.status()).state is BreakerState.OPEN


async def wait_half_open(breaker: CircuitBreaker) -> None:
    async def half_open() -> bool:
        return (await breaker.status()).state is BreakerState.HALF_OPEN

    await await_until(half_open, timeout_s=10, message=f"breaker {breaker.name} to half-open")


async def window(breaker: CircuitBreaker) -> tuple[str, int, int]:
    status = await breaker.status()
    return str(status.state), status.window_calls, status.window_failures


async def test_all_failures_open_it_at_exactly_the_minimum_calls(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small())
    for expected in (1, 2, 3):
        with pytest.raises(TransientError):
            await breaker.call(fail)
        assert await window(breaker) == ("closed", expected, expected)
    with pytest.raises(TransientError):
        await breaker.call(fail)
    status = await breaker.status()
    assert (status.state, status.window_calls, status.window_failures) == (BreakerState.OPEN, 4, 4)
    assert status.failure_rate == 1.0
    assert status.opened_at_ms is not None and status.opened_at_ms <= status.server_time_ms


async def test_successes_count_so_a_rate_below_the_threshold_never_opens(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small())
    # ok, fail, ok, fail, ...: 50% would open; 2 of 5 failed (40%) does not.
    for _ in range(20):
        for fn in (ok, ok, ok):
            await breaker.call(fn)
        for _ in range(2):
            with pytest.raises(TransientError):
                await breaker.call(fail)
    state, calls, failures = await window(breaker)
    assert state == "closed" and calls == 10
    assert failures == 4
    # One more failure makes 5 of the last 10 outcomes failures (the successes rode on the
    # admissions, so every outcome is in the window, in order): it opens.
    with pytest.raises(TransientError):
        await breaker.call(fail)
    assert await window(breaker) == ("open", 10, 5)


async def test_a_success_rides_on_the_next_round_trip(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small())
    reports = 0
    record = breaker._record

    async def counted(**kwargs: Any) -> Any:
        nonlocal reports
        reports += 1
        return await record(**kwargs)

    breaker._record = counted
    for _ in range(5):
        assert await breaker.call(ok) == "ok"
    assert reports == 0  # no round trip of its own for a success
    assert await window(breaker) == ("closed", 4, 0)  # the fifth waits for the next admission
    await breaker.flush()
    assert await window(breaker) == ("closed", 5, 0)
    with pytest.raises(TransientError):
        await breaker.call(fail)
    assert reports == 2 and await window(breaker) == ("closed", 6, 1)


async def test_permanent_errors_count_as_answers(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small())
    for _ in range(10):
        with pytest.raises(PermanentError):
            await breaker.call(reject)
    for _ in range(4):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    assert await window(breaker) == ("closed", 10, 4)


async def test_other_exceptions_are_no_verdict(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small(minimum_calls=1))

    async def bug() -> None:
        raise KeyError("a bug, not the service")

    async def limited() -> None:
        raise RateLimited("429", retry_after_s=1)

    with pytest.raises(KeyError):
        await breaker.call(bug)
    with pytest.raises(RateLimited):
        await breaker.call(limited)
    await breaker.flush()
    assert await window(breaker) == ("closed", 0, 0)


async def test_the_window_keeps_only_the_last_window_calls(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small(minimum_calls=10))
    for _ in range(3):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    for _ in range(30):
        await breaker.call(ok)
    await breaker.flush()
    assert await window(breaker) == ("closed", 10, 0)
    assert await aredis.llen(keys.breaker_calls("svc")) == 10


async def test_outcomes_older_than_the_window_no_longer_count(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small(window_s=0.5))
    for _ in range(3):
        with pytest.raises(TransientError):
            await breaker.call(fail)

    async def aged_out() -> bool:
        return (await window(breaker))[1] == 0

    await await_until(aged_out, timeout_s=10, message="the failures to leave the window")
    # Three fresh failures are three again, not six: the old ones cannot open it.
    for _ in range(3):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    state, calls, failures = await window(breaker)
    assert state == "closed" and calls == failures and failures <= 3


async def test_slow_calls_open_it_when_their_rate_is_reached(aredis: Any) -> None:
    now = [0.0]

    async def slow_ok() -> str:
        now[0] += 2.0
        return "ok"

    options = small(slow_call_duration_s=1.0, slow_call_rate_threshold=0.5)
    breaker = CircuitBreaker(aredis, "svc", options, clock=lambda: now[0])
    for _ in range(2):
        await breaker.call(ok)
    for _ in range(2):
        await breaker.call(slow_ok)
    status = await breaker.status()
    assert (status.state, status.window_calls, status.window_slow_calls) == (
        BreakerState.OPEN,
        4,
        2,
    )
    # Without a slow-call duration, slowness is no verdict.
    other = CircuitBreaker(aredis, "other", small(), clock=lambda: now[0])
    for _ in range(6):
        await other.call(slow_ok)
    await other.flush()
    assert (await other.status()).state is BreakerState.CLOSED


async def test_while_open_calls_are_refused_without_running(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small())
    await trip(breaker)
    calls = 0

    async def counted() -> str:
        nonlocal calls
        calls += 1
        return "ran"

    with pytest.raises(BreakerOpen) as raised:
        await breaker.before_call()
    assert raised.value.retry_after_s is not None and 0 < raised.value.retry_after_s <= 30
    with pytest.raises(BreakerOpen):
        await breaker.call(counted)
    assert calls == 0
    status = await breaker.status()
    assert status.state is BreakerState.OPEN and 0 < status.retry_after_s <= 30


async def test_replicas_share_the_state(clients: Callable[[], Any]) -> None:
    one = CircuitBreaker(clients(), "shared", small())
    two = CircuitBreaker(clients(), "shared", small())
    for _ in range(3):
        with pytest.raises(TransientError):
            await one.call(fail)
    assert await window(two) == ("closed", 3, 3)
    with pytest.raises(TransientError):
        await two.call(fail)  # the fourth failure in the window, from another replica
    assert (await one.status()).state is BreakerState.OPEN
    with pytest.raises(BreakerOpen):
        await one.before_call()
    with pytest.raises(BreakerOpen):
        await two.before_call()
    other = CircuitBreaker(clients(), "other-service", small())
    assert await other.call(ok) == "ok"


@pytest.mark.parametrize("max_calls", [1, 2])
async def test_half_open_admits_exactly_max_trials_across_replicas(
    clients: Callable[[], Any], max_calls: int
) -> None:
    replicas = [
        CircuitBreaker(
            clients(),
            "trial",
            small(minimum_calls=1, reset_timeout_s=RESET_S, half_open_max_calls=max_calls),
        )
        for _ in range(max_calls + 3)
    ]
    await trip(replicas[0])
    await wait_half_open(replicas[1])
    outcomes = await asyncio.gather(*(r.before_call() for r in replicas), return_exceptions=True)
    admitted = [o for o in outcomes if o is None]
    refused = [o for o in outcomes if isinstance(o, BreakerOpen)]
    assert (len(admitted), len(refused)) == (max_calls, len(replicas) - max_calls)
    assert all(r.retry_after_s is not None and r.retry_after_s > 0 for r in refused)
    assert (await replicas[0].status()).trials_in_flight == max_calls


async def test_trial_success_closes_with_an_empty_window(clients: Callable[[], Any]) -> None:
    one = CircuitBreaker(clients(), "svc", small(reset_timeout_s=RESET_S))
    two = CircuitBreaker(clients(), "svc", small(reset_timeout_s=RESET_S))
    await trip(one)
    await wait_half_open(two)
    assert await two.call(ok) == "ok"
    status = await one.status()
    assert (status.state, status.window_calls, status.opened_at_ms) == (
        BreakerState.CLOSED,
        0,
        None,
    )
    assert not await one.client.exists(keys.breaker("svc"), keys.breaker_calls("svc"))
    assert await one.call(ok) == "ok"


async def test_trial_failure_reopens_with_a_fresh_timeout(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small(reset_timeout_s=RESET_S))
    await trip(breaker)
    first_opened_ms = (await breaker.status()).opened_at_ms
    await wait_half_open(breaker)
    with pytest.raises(TransientError):
        await breaker.call(fail)
    status = await breaker.status()
    assert status.state is BreakerState.OPEN
    assert first_opened_ms is not None and status.opened_at_ms is not None
    assert status.opened_at_ms >= first_opened_ms + RESET_S * 1000
    assert status.opened_at_ms + RESET_S * 1000 - status.server_time_ms == pytest.approx(
        status.retry_after_s * 1000
    )
    with pytest.raises(BreakerOpen):
        await breaker.before_call()


async def test_a_trial_that_never_reports_is_replaced_after_the_reset_timeout(
    clients: Callable[[], Any],
) -> None:
    crashed = CircuitBreaker(clients(), "svc", small(minimum_calls=1, reset_timeout_s=RESET_S))
    live = CircuitBreaker(clients(), "svc", small(minimum_calls=1, reset_timeout_s=RESET_S))
    await trip(crashed)
    await wait_half_open(live)
    await crashed.before_call()  # admitted as the trial; this replica then dies silently
    with pytest.raises(BreakerOpen):
        await live.before_call()

    async def slot_free() -> bool:
        return (await live.status()).retry_after_s == 0

    await await_until(slot_free, timeout_s=10, message="the lost trial's slot to be handed out")
    assert await live.call(ok) == "ok"
    assert (await live.status()).state is BreakerState.CLOSED


async def test_a_trial_without_verdict_gives_its_slot_back(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small(minimum_calls=1))
    await trip(breaker)
    await aredis.hset(keys.breaker("svc"), "opened_at_ms", 0)  # opened long ago: due to half-open
    assert (await breaker.status()).state is BreakerState.HALF_OPEN

    async def bug() -> None:
        raise KeyError("not the service's fault")

    with pytest.raises(KeyError):
        await breaker.call(bug)
    status = await breaker.status()
    assert (status.state, status.trials_in_flight, status.retry_after_s) == (
        BreakerState.HALF_OPEN,
        0,
        0.0,
    )
    assert await breaker.call(ok) == "ok"
    assert (await breaker.status()).state is BreakerState.CLOSED


async def test_state_changes_are_reported_to_the_hook(aredis: Any) -> None:
    seen: list[tuple[str, BreakerState, BreakerState]] = []

    def hook(name: str, old: BreakerState, new: BreakerState) -> None:
        seen.append((name, old, new))
        raise RuntimeError("a broken hook must not break the breaker")

    breaker = CircuitBreaker(
        aredis, "hooked", small(minimum_calls=1, reset_timeout_s=RESET_S), on_state_change=hook
    )
    await trip(breaker)
    await wait_half_open(breaker)
    assert await breaker.call(ok) == "ok"
    assert seen == [
        ("hooked", BreakerState.CLOSED, BreakerState.OPEN),
        ("hooked", BreakerState.OPEN, BreakerState.HALF_OPEN),
        ("hooked", BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


async def test_state_expires_when_idle_but_never_before_the_reset_timeout(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small(minimum_calls=1, reset_timeout_s=3600 * 24 * 2))
    await trip(breaker)
    ttl_ms = await aredis.pttl(keys.breaker("svc"))
    assert 10 * 3600 * 24 * 2 * 1000 - 60_000 < ttl_ms <= 10 * 3600 * 24 * 2 * 1000


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"failure_rate_threshold": 0}, "failure_rate_threshold"),
        ({"failure_rate_threshold": 1.5}, "failure_rate_threshold"),
        ({"slow_call_rate_threshold": 0.0}, "slow_call_rate_threshold"),
        ({"minimum_calls": 0}, "minimum_calls"),
        ({"minimum_calls": 2.0}, "minimum_calls"),
        ({"minimum_calls": 11}, "minimum_calls"),
        ({"window_calls": 10_001, "minimum_calls": 1}, "window_calls"),
        ({"window_s": 0}, "window_s"),
        ({"slow_call_duration_s": -1.0}, "slow_call_duration_s"),
        ({"half_open_max_calls": 0}, "half_open_max_calls"),
        ({"reset_timeout_s": 0}, "reset_timeout_s"),
        ({"reset_timeout_s": -1.0}, "reset_timeout_s"),
    ],
)
def test_invalid_options_are_value_errors_naming_them(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        small(**options)


def test_a_breaker_needs_a_name() -> None:
    with pytest.raises(ValueError, match="name"):
        CircuitBreaker(object(), "", small())


async def test_a_call_that_carries_several_callers_weighs_as_much(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", small())
    # One batched request failing for three waiting callers: three failures in the window.
    with pytest.raises(TransientError):
        await breaker.call(fail, weight=3)
    assert await window(breaker) == ("closed", 3, 3)
    assert await breaker.call(ok, weight=2) == "ok"
    await breaker.flush()
    assert await window(breaker) == ("closed", 5, 3)
    with pytest.raises(TransientError):
        await breaker.call(fail, weight=2)
    assert await window(breaker) == ("open", 7, 5)
    with pytest.raises(ValueError, match="weight"):
        await breaker.call(ok, weight=0)
