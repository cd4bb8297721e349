"""Exponential backoff with full jitter, as a pure function."""

from __future__ import annotations

import random
from collections.abc import Callable

from tenacity import RetryCallState

DEFAULT_BACKOFF_BASE_S = 1.0
DEFAULT_BACKOFF_MAX_S = 300.0


def compute_backoff_s(
    attempt: int,
    *,
    base_s: float = DEFAULT_BACKOFF_BASE_S,
    max_s: float = DEFAULT_BACKOFF_MAX_S,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry ``attempt`` (1 = first): uniform in [0, min(max_s, base_s*2^(attempt-1))].

    Full jitter spreads the retries of many tasks that failed together, so a recovering service is
    not hit by a synchronized wave.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    ceiling = min(max_s, base_s * 2 ** min(attempt - 1, 62))
    return (rng or random).uniform(0.0, ceiling)


def jittered_wait(*, base_s: float, max_s: float) -> Callable[[RetryCallState], float]:
    """``compute_backoff_s`` as a tenacity ``wait``, so every in-process retry loop backs off by
    the same rule as the runtime's retries."""

    def wait(state: RetryCallState) -> float:
        return compute_backoff_s(state.attempt_number, base_s=base_s, max_s=max_s)

    return wait
