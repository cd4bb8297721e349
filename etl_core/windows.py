"""Schedule windows: the UTC period a scheduled task belongs to (part of its deterministic id)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_WINDOW_RE = re.compile(r"^(\d+)([mhd])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


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
    return window_start(now, spec).strftime("%Y-%m-%dT%H:%MZ")
