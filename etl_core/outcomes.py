"""What a handler reports. The worker runtime, not the handler, acks, forwards, retries and
dead-letters accordingly (a handler may also raise an ``etl_core.errors`` exception instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from etl_core.task import BaseTask


@dataclass(frozen=True, slots=True)
class Done:
    """The task is finished; ack it and mark it done."""


@dataclass(frozen=True, slots=True)
class Forward:
    """The task is finished; hand these tasks to the next stream in the same atomic step as the ack.

    ``stream`` defaults to the worker's ``forward_stream``.
    """

    tasks: Sequence[BaseTask]
    stream: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again later.

    ``spend_attempt=False`` is for waits that are not the task's fault (a rate limit, an open
    breaker): they never push a task towards the dead-letter stream. ``delay_s=None`` lets the
    runtime choose an exponential backoff with full jitter. ``pause_stage`` says no task of the
    stage could succeed now (``etl_core.errors.StageBlocked``): the runtime pauses the stage.
    """

    error_type: str
    message: str
    delay_s: float | None = None
    spend_attempt: bool = True
    pause_stage: bool = False


@dataclass(frozen=True, slots=True)
class Fail:
    """Failed for good: send the task to the dead-letter stream with this reason."""

    error_type: str
    message: str


Outcome = Done | Forward | Retry | Fail


@dataclass(slots=True)
class OutcomeCounts:
    """Running totals of what a worker did, for status, logs and metrics."""

    done: int = 0
    forwarded: int = 0
    retried: int = 0
    waited: int = 0
    dead_lettered: int = 0
    already_done: int = 0
    reclaimed: int = 0
    deleted_while_pending: int = 0
    skipped_not_owned: int = 0
    released: int = 0
    by_error_type: dict[str, int] = field(default_factory=dict)
