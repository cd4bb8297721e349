"""compute_backoff_s: exponential growth from the base, a cap, full jitter below the ceiling."""

from __future__ import annotations

import random
import statistics

import pytest
from tenacity import RetryCallState

from etl_core.backoff import (
    DEFAULT_BACKOFF_BASE_S,
    DEFAULT_BACKOFF_MAX_S,
    compute_backoff_s,
    jittered_wait,
)
from etl_core.worker.options import WorkerOptions


class TopOfRange(random.Random):
    """An rng that always draws the top of the range: the jitter's ceiling, exactly."""

    def uniform(self, a: float, b: float) -> float:
        return b


def ceiling_s(attempt: int, **options: float) -> float:
    return compute_backoff_s(attempt, rng=TopOfRange(), **options)


def test_the_ceiling_doubles_from_the_base_with_each_attempt() -> None:
    assert [ceiling_s(a, base_s=0.5, max_s=1_000) for a in (1, 2, 3, 4, 5)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
    ]


def test_the_ceiling_stops_at_the_cap() -> None:
    assert ceiling_s(4, base_s=1, max_s=5) == 5
    assert ceiling_s(50, base_s=1, max_s=5) == 5


def test_a_huge_attempt_number_neither_overflows_nor_passes_the_cap() -> None:
    assert ceiling_s(10_000, base_s=1, max_s=300) == 300


def test_the_defaults_are_one_second_doubling_up_to_five_minutes() -> None:
    assert (DEFAULT_BACKOFF_BASE_S, DEFAULT_BACKOFF_MAX_S) == (1.0, 300.0)
    assert ceiling_s(1) == 1.0
    assert ceiling_s(3) == 4.0
    assert ceiling_s(20) == 300.0


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_count_from_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="attempt must be >= 1"):
        compute_backoff_s(attempt)


def test_full_jitter_spreads_delays_over_zero_to_the_ceiling() -> None:
    rng = random.Random(1234)
    delays = [compute_backoff_s(3, base_s=1, max_s=300, rng=rng) for _ in range(2_000)]
    assert all(0.0 <= d <= 4.0 for d in delays)
    # Uniform on [0, 4]: mean 2 (its standard error here is about 0.026), extremes near both ends.
    assert 1.8 < statistics.fmean(delays) < 2.2
    assert min(delays) < 0.2 and max(delays) > 3.8


def test_capped_delays_are_jittered_below_the_cap_too() -> None:
    rng = random.Random(99)
    delays = [compute_backoff_s(30, base_s=1, max_s=10, rng=rng) for _ in range(500)]
    assert all(0.0 <= d <= 10.0 for d in delays)
    assert min(delays) < 1.0  # full jitter, not "the cap plus a little"


def test_the_same_seed_gives_the_same_delays() -> None:
    first = [compute_backoff_s(a, rng=random.Random(7)) for a in range(1, 8)]
    again = [compute_backoff_s(a, rng=random.Random(7)) for a in range(1, 8)]
    assert first == again


def test_without_an_rng_the_module_random_is_used() -> None:
    assert all(0.0 <= compute_backoff_s(2, base_s=1, max_s=10) <= 2.0 for _ in range(200))


def test_the_worker_options_default_to_these_backoffs_and_take_others() -> None:
    options = WorkerOptions(stream="s", group="g")
    assert (options.retry_backoff_base_s, options.retry_backoff_max_s) == (
        DEFAULT_BACKOFF_BASE_S,
        DEFAULT_BACKOFF_MAX_S,
    )
    assert (options.redis_backoff_base_s, options.redis_backoff_max_s) == (0.1, 5.0)
    tuned = WorkerOptions(stream="s", group="g", redis_backoff_base_s=0.5, redis_backoff_max_s=2)
    assert (tuned.redis_backoff_base_s, tuned.redis_backoff_max_s) == (0.5, 2.0)
    with pytest.raises(ValueError):
        WorkerOptions(stream="s", group="g", redis_backoff_max_s=0)


def test_the_tenacity_wait_is_the_same_rule() -> None:
    """The in-process retry loops (settle's Redis retries, the weather gate's) back off by
    ``compute_backoff_s`` too: never above the attempt's ceiling, never above the cap."""
    wait = jittered_wait(base_s=0.05, max_s=0.3)
    for attempt in range(1, 12):
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempt
        ceiling = min(0.3, 0.05 * 2 ** (attempt - 1))
        assert all(0.0 <= wait(state) <= ceiling for _ in range(50))
