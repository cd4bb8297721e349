"""Coalesce one call per handler into one call per batch (``Coalescer``).

A worker runs many handlers at once; each wants to write a few records to the same service. One
request per handler spends most of its time on per-request overhead. ``Coalescer.submit(item)``
instead parks the item, and one batch call carries every item submitted within ``max_wait_s`` of
the first (or fewer, once ``max_weight`` is reached). Each caller gets its own item's result.

At most ``max_in_flight`` batch calls run at once; while they do, new items keep joining the open
batch, so batches grow by themselves when the service slows down (and stay small, with little
added latency, when it is fast).

Failures stay per item: when the batch call raises a ``PermanentError`` (e.g. a 422 naming one bad
record) and the batch held more than one item, each item is sent again alone, so only the item at
fault fails. Any other error (transient ones) is raised to every caller of that batch; their
handlers are retried, which the idempotent upserts make harmless.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from etl_core.errors import PermanentError

DEFAULT_MAX_WAIT_S = 0.002
DEFAULT_MAX_IN_FLIGHT = 4

T = TypeVar("T")
R = TypeVar("R")

BatchCall = Callable[[Sequence[T]], Awaitable[Sequence[R]]]


@dataclass
class _Batch(Generic[T, R]):
    items: list[T] = field(default_factory=list)
    futures: list[asyncio.Future[R]] = field(default_factory=list)
    weight: int = 0
    expired: bool = False  # its max_wait_s is over: send as soon as a slot is free


class Coalescer(Generic[T, R]):
    """``call(items) -> results`` (one result per item, same order) run once per batch."""

    def __init__(
        self,
        call: BatchCall[T, R],
        *,
        max_weight: int,
        weight: Callable[[T], int] = lambda _item: 1,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        if max_weight < 1:
            raise ValueError("max_weight must be at least 1")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if max_wait_s < 0:
            raise ValueError("max_wait_s must not be negative")
        self._call = call
        self._max_weight = max_weight
        self._weight = weight
        self._max_wait_s = max_wait_s
        self._max_in_flight = max_in_flight
        self._open: _Batch[T, R] | None = None
        self._ready: deque[_Batch[T, R]] = deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """The result of ``item``'s part of a batch call; raises what that part raised."""
        weight = max(1, self._weight(item))
        batch = self._open
        if batch is not None and batch.weight + weight > self._max_weight:
            self._seal(batch)
            batch = None
        if batch is None:
            batch = self._open = _Batch()
            timer = asyncio.ensure_future(self._linger(batch))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        batch.items.append(item)
        batch.futures.append(future)
        batch.weight += weight
        if batch.weight >= self._max_weight:
            self._seal(batch)
        return await future

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _linger(self, batch: _Batch[T, R]) -> None:
        await asyncio.sleep(self._max_wait_s)
        batch.expired = True
        if self._open is batch and self._in_flight < self._max_in_flight:
            self._seal(batch)

    def _seal(self, batch: _Batch[T, R]) -> None:
        """No more items join ``batch``; it is sent once a slot is free."""
        if self._open is batch:
            self._open = None
        self._ready.append(batch)
        self._pump()

    def _pump(self) -> None:
        while self._ready and self._in_flight < self._max_in_flight:
            batch = self._ready.popleft()
            self._in_flight += 1
            self._spawn(self._send(batch))
        if self._open is not None and self._open.expired and self._in_flight < self._max_in_flight:
            self._seal(self._open)

    async def _send(self, batch: _Batch[T, R]) -> None:
        try:
            await self._run(batch.items, batch.futures)
        finally:
            self._in_flight -= 1
            self._pump()

    async def _run(self, items: list[T], futures: list[asyncio.Future[R]]) -> None:
        try:
            results = await self._call(items)
            if len(results) != len(items):
                raise RuntimeError(
                    f"batch call returned {len(results)} results for {len(items)} items"
                )
        except PermanentError as exc:
            if len(items) > 1:
                for item, future in zip(items, futures, strict=True):
                    self._spawn(self._run([item], [future]))
                return
            _fail(futures, exc)
            return
        except BaseException as exc:
            _fail(futures, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for future, result in zip(futures, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def aclose(self) -> None:
        """Send what is parked and wait for every batch in flight."""
        if self._open is not None:
            self._seal(self._open)
        for timer in list(self._timers):
            timer.cancel()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _fail(futures: list[asyncio.Future[R]], exc: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(exc)
