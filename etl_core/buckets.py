"""Time buckets for marks that only need to live a bounded time (publish markers, dedup marks).

A mark is a field of one hash per bucket (``n = clock ms // length_ms``) instead of a key of its
own: a hash field costs Redis a fraction of a key with its own expiry, and a whole bucket expires
at once. A mark is written into the current bucket, whose hash expires two lengths after the
bucket began, and looked up in the current and the previous bucket: it so lives at least one
length and at most two.

Bucket names are computed by the client, from its own clock, because every key a script touches
is passed in KEYS (Redis Cluster needs to know them before the script runs). Clocks of several
processes differ a little: a reader near the end of its bucket also looks into the next one, so a
mark written by a process whose clock is up to ``CLOCK_SKEW_MS`` ahead is still found.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

CLOCK_SKEW_MS = 60_000


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class TimeBuckets:
    """Buckets of ``length_ms``; a mark lives between one and two lengths."""

    length_ms: int
    clock_ms: Callable[[], int] = field(default=_wall_ms, compare=False)

    def __post_init__(self) -> None:
        if self.length_ms < 1:
            raise ValueError(f"bucket length_ms must be at least 1, got {self.length_ms}")

    def current(self) -> int:
        """The bucket a mark is written into now."""
        return self.clock_ms() // self.length_ms

    def expire_at_ms(self, bucket: int) -> int:
        """When the hash of ``bucket`` expires (unix ms): two lengths after the bucket began."""
        return (bucket + 2) * self.length_ms

    def readable(self) -> list[int]:
        """The buckets a mark written within the last length may be in, newest first."""
        now_ms = self.clock_ms()
        bucket = now_ms // self.length_ms
        found = [bucket, bucket - 1]
        if now_ms % self.length_ms >= self.length_ms - min(CLOCK_SKEW_MS, self.length_ms // 2):
            found.insert(0, bucket + 1)
        return found
