"""Tests poll with deadlines; they never sleep and hope."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout_s: float = 20.0,
    interval_s: float = 0.02,
    message: str = "condition",
) -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {message}")
        time.sleep(interval_s)


async def await_until(
    predicate: Callable[[], Awaitable[Any]],
    *,
    timeout_s: float = 20.0,
    interval_s: float = 0.02,
    message: str = "condition",
) -> Any:
    """The asyncio twin of ``wait_until``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {message}")
        await asyncio.sleep(interval_s)


def holds(predicate: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    """``await_until``'s predicate for in-process state (a worker's counts, its pause view)."""

    async def check() -> Any:
        return predicate()

    return check
