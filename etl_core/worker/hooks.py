"""Observation points of the worker runtime (metrics, tests). Every hook is a no-op by default;
a failing hook is logged by the runtime, never fatal.
"""

from __future__ import annotations


class WorkerHooks:
    def on_outcome(self, kind: str, error_type: str | None, duration_s: float) -> None:
        """A task settled: done, forwarded, retried, waited, dead_lettered or already_done."""

    def on_reclaimed(self, claimed: int, deleted: int) -> None:
        """A reclaim pass took over ``claimed`` idle entries and found ``deleted`` gone ones."""

    def on_loop(self) -> None:
        """The read loop went round once (liveness)."""

    def on_redis_error(self, where: str) -> None:
        """A Redis call failed and will be retried."""

    def on_consumers_pruned(self, count: int) -> None:
        """Housekeeping removed ``count`` idle consumers of the group that held nothing."""

    def on_pause(self, source: str | None) -> None:
        """This worker saw its stage paused (``source`` 'auto' or 'manual') or running (None)."""
