"""Schedule windows: the UTC period a scheduled task belongs to (part of its deterministic id).

A window's label is its UTC start, ``2026-11-22T10:00Z`` (``LABEL_FORMAT``). ``WindowRule`` says
which labels a worker accepts from a stream: a label is part of the task id, so any other string
would be new work that dedup and the answer caches have never seen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from etl_core.text import preview

_WINDOW_RE = re.compile(r"^(\d+)([mhd])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}
LABEL_FORMAT = "%Y-%m-%dT%H:%MZ"
LABEL_EXAMPLE = "2026-11-22T10:00Z"
_LABEL_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})Z")


def parse_window(spec: str) -> timedelta:
    """``"15m"``, ``"1h"``, ``"1d"`` -> timedelta. A window must divide a day evenly."""
    match = _WINDOW_RE.match(spec.strip())
    if not match:
        raise ValueError(f"schedule window {spec!r} must look like 15m, 1h or 1d")
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds <= 0 or (86400 % seconds != 0 and seconds % 86400 != 0):
        raise ValueError(f"schedule window {spec!r} must divide a day evenly (or be whole days)")
    return timedelta(seconds=seconds)


def window_start(now: datetime, spec: str) -> datetime:
    """The start (UTC) of the window of length ``spec`` that contains ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    size_s = int(parse_window(spec).total_seconds())
    epoch_s = int(now.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch_s - epoch_s % size_s, tz=UTC)


def window_label(now: datetime, spec: str) -> str:
    """A stable label of the window containing ``now``, e.g. ``2026-11-22T10:00Z`` for ``1h``."""
    return window_start(now, spec).strftime(LABEL_FORMAT)


def label_start(label: str) -> datetime:
    """The UTC instant a label names; ``ValueError`` unless it is written as ``LABEL_FORMAT``
    writes it (ASCII digits, zero-padded) and names a real date and time."""
    match = _LABEL_RE.fullmatch(label) if len(label) == len(LABEL_EXAMPLE) else None
    if match is None:
        raise ValueError(
            f"must be a window label like {LABEL_EXAMPLE} (its UTC start, {LABEL_FORMAT}), "
            f"got {preview(label)}"
        )
    year, month, day, hour, minute = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{label} is not a real UTC date and time") from None


def window_of_task_id(task_id: str) -> str | None:
    """The window label a scheduled task's id ends with (``<type>:<location>@<label>``,
    ``ScheduledTask.identity``), or None for an id that does not end with one."""
    _head, at, label = task_id.rpartition("@")
    if not at or len(label) != len(LABEL_EXAMPLE) or _LABEL_RE.fullmatch(label) is None:
        return None
    return label


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WindowRule:
    """The labels a worker accepts: written by ``window_label`` for windows of ``spec``, starting
    no later than the window after the one ``clock`` is in.

    One window ahead is allowed because the scheduler's clock may run a little ahead of this
    worker's. Windows in the past are accepted, however old: a retried, redriven or long-queued
    task is a replay of its window, and its id (hence dedup and the answer cache) is the one the
    schedule gave it."""

    __slots__ = ("_clock", "_size_s", "spec")

    def __init__(self, spec: str, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.spec = spec
        self._size_s = int(parse_window(spec).total_seconds())
        self._clock = clock

    def check(self, label: str) -> None:
        """``ValueError`` naming the rule ``label`` breaks."""
        start_s = int(label_start(label).timestamp())
        if start_s % self._size_s:
            raise ValueError(f"{label} is not the start of a {self.spec} window")
        now_s = int(self._clock().timestamp())
        latest_s = now_s - now_s % self._size_s + self._size_s
        if start_s > latest_s:
            now = datetime.fromtimestamp(now_s, tz=UTC).strftime(LABEL_FORMAT)
            raise ValueError(
                f"{label} starts more than one {self.spec} window after this worker's clock ({now})"
            )
