"""The shared circuit breaker, on fakeredis and on a real redis-server (the ``backend`` fixture).

Two ``CircuitBreaker`` instances on two clients stand for two replicas sharing one breaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from etl_core import keys
from etl_core.breaker import BreakerState, CircuitBreaker
from etl_core.errors import BreakerOpen, PermanentError, RateLimited, TransientError
from tests.support.polling import await_until

RESET_S = 0.6  # long enough that a loaded machine cannot skip past OPEN between two calls


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
    for _ in range(breaker.failure_threshold):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    assert (await breaker.status()).state is BreakerState.OPEN


async def wait_half_open(breaker: CircuitBreaker) -> None:
    async def half_open() -> bool:
        return (await breaker.status()).state is BreakerState.HALF_OPEN

    await await_until(half_open, timeout_s=10, message=f"breaker {breaker.name} to half-open")


async def test_opens_after_exactly_threshold_consecutive_failures(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=3, reset_timeout_s=30)
    for expected in (1, 2):
        await breaker.before_call()
        await breaker.record_failure()
        status = await breaker.status()
        assert (status.state, status.consecutive_failures) == (BreakerState.CLOSED, expected)
    await breaker.before_call()
    await breaker.record_failure()
    status = await breaker.status()
    assert status.state is BreakerState.OPEN
    assert status.consecutive_failures == 3
    assert status.opened_at_ms is not None and status.opened_at_ms <= status.server_time_ms


async def test_a_success_in_between_resets_the_count(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=3)
    for _ in range(2):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    assert await breaker.call(ok) == "ok"
    assert (await breaker.status()).consecutive_failures == 0
    for _ in range(2):
        with pytest.raises(TransientError):
            await breaker.call(fail)
    status = await breaker.status()
    assert (status.state, status.consecutive_failures) == (BreakerState.CLOSED, 2)
    with pytest.raises(TransientError):
        await breaker.call(fail)
    assert (await breaker.status()).state is BreakerState.OPEN


async def test_a_success_admitted_on_a_clean_breaker_sends_no_record(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=3)
    other = CircuitBreaker(aredis, "svc", failure_threshold=3)

    async def meanwhile_another_replica_fails() -> str:
        await other.before_call()
        await other.record_failure()
        return "ok"

    # Admitted closed with no failures: its success would reset nothing, so it is not sent, and
    # the failure another replica recorded during the call stands.
    assert await breaker.call(meanwhile_another_replica_fails) == "ok"
    assert (await breaker.status()).consecutive_failures == 1
    # Admitted with a failure counted: its success is recorded and resets the count.
    assert await breaker.call(ok) == "ok"
    assert (await breaker.status()).consecutive_failures == 0


async def test_permanent_errors_never_trip_and_count_as_answers(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=2)
    for _ in range(10):
        with pytest.raises(PermanentError):
            await breaker.call(reject)
    assert (await breaker.status()).state is BreakerState.CLOSED
    with pytest.raises(TransientError):
        await breaker.call(fail)
    with pytest.raises(PermanentError):
        await breaker.call(reject)
    with pytest.raises(TransientError):
        await breaker.call(fail)
    status = await breaker.status()
    assert (status.state, status.consecutive_failures) == (BreakerState.CLOSED, 1)


async def test_other_exceptions_are_no_verdict(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=1)

    async def bug() -> None:
        raise KeyError("a bug, not the service")

    async def limited() -> None:
        raise RateLimited("429", retry_after_s=1)

    with pytest.raises(KeyError):
        await breaker.call(bug)
    with pytest.raises(RateLimited):
        await breaker.call(limited)
    status = await breaker.status()
    assert (status.state, status.consecutive_failures) == (BreakerState.CLOSED, 0)


async def test_while_open_calls_are_refused_without_running(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=2, reset_timeout_s=30)
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
    one = CircuitBreaker(clients(), "shared", failure_threshold=2, reset_timeout_s=30)
    two = CircuitBreaker(clients(), "shared", failure_threshold=2, reset_timeout_s=30)
    with pytest.raises(TransientError):
        await one.call(fail)
    assert (await two.status()).consecutive_failures == 1
    with pytest.raises(TransientError):
        await two.call(fail)  # the second consecutive failure, seen from another replica
    assert (await one.status()).state is BreakerState.OPEN
    with pytest.raises(BreakerOpen):
        await one.before_call()
    with pytest.raises(BreakerOpen):
        await two.before_call()
    other = CircuitBreaker(clients(), "other-service", failure_threshold=2)
    assert await other.call(ok) == "ok"


@pytest.mark.parametrize("max_calls", [1, 2])
async def test_half_open_admits_exactly_max_trials_across_replicas(
    clients: Callable[[], Any], max_calls: int
) -> None:
    replicas = [
        CircuitBreaker(
            clients(),
            "trial",
            failure_threshold=1,
            reset_timeout_s=RESET_S,
            half_open_max_calls=max_calls,
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


async def test_trial_success_closes(clients: Callable[[], Any]) -> None:
    one = CircuitBreaker(clients(), "svc", failure_threshold=2, reset_timeout_s=RESET_S)
    two = CircuitBreaker(clients(), "svc", failure_threshold=2, reset_timeout_s=RESET_S)
    await trip(one)
    await wait_half_open(two)
    assert await two.call(ok) == "ok"
    status = await one.status()
    assert (status.state, status.consecutive_failures, status.opened_at_ms) == (
        BreakerState.CLOSED,
        0,
        None,
    )
    assert await one.call(ok) == "ok"
    assert not await one.client.exists(keys.breaker("svc"))  # closed and clean: nothing stored


async def test_trial_failure_reopens_with_a_fresh_timeout(aredis: Any) -> None:
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=2, reset_timeout_s=RESET_S)
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
    crashed = CircuitBreaker(clients(), "svc", failure_threshold=1, reset_timeout_s=RESET_S)
    live = CircuitBreaker(clients(), "svc", failure_threshold=1, reset_timeout_s=RESET_S)
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
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=1, reset_timeout_s=30)
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
        aredis, "hooked", failure_threshold=1, reset_timeout_s=RESET_S, on_state_change=hook
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
    breaker = CircuitBreaker(aredis, "svc", failure_threshold=1, reset_timeout_s=3600 * 24 * 2)
    await trip(breaker)
    ttl_ms = await aredis.pttl(keys.breaker("svc"))
    assert 10 * 3600 * 24 * 2 * 1000 - 60_000 < ttl_ms <= 10 * 3600 * 24 * 2 * 1000


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"failure_threshold": 2.0}, "failure_threshold"),
        ({"half_open_max_calls": 0}, "half_open_max_calls"),
        ({"reset_timeout_s": 0}, "reset_timeout_s"),
        ({"reset_timeout_s": -1.0}, "reset_timeout_s"),
    ],
)
def test_invalid_options_are_value_errors_naming_them(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        CircuitBreaker(object(), "bad", **options)
