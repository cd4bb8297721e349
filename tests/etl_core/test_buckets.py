"""Time buckets: where a mark is written, how long its hash lives, where it is looked for."""

from __future__ import annotations

import pytest

from etl_core.buckets import CLOCK_SKEW_MS, TimeBuckets


def test_a_mark_is_looked_for_in_the_current_and_the_previous_bucket() -> None:
    buckets = TimeBuckets(3_600_000, clock_ms=lambda: 10 * 3_600_000 + 5)
    assert buckets.current() == 10
    assert buckets.readable() == [10, 9]
    assert buckets.expire_at_ms(10) == 12 * 3_600_000


def test_near_a_buckets_end_the_next_one_is_read_too() -> None:
    """A writer whose clock runs ahead may already write into the next bucket."""
    buckets = TimeBuckets(3_600_000, clock_ms=lambda: 11 * 3_600_000 - CLOCK_SKEW_MS // 2)
    assert buckets.readable() == [11, 10, 9]


def test_a_bucket_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TimeBuckets(0)
