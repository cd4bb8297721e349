"""Coalescer: one batch call for many concurrent submitters, with failures kept per item."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from etl_core.batching import Coalescer
from etl_core.errors import PermanentError, TransientError


class Recorder:
    def __init__(self, *, bad: set[int] | None = None, transient: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.bad = bad or set()
        self.transient = transient
        self.release = asyncio.Event()
        self.release.set()
        self.entered = asyncio.Event()

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.calls.append(list(items))
        self.entered.set()
        await self.release.wait()
        if self.transient:
            raise TransientError("service unavailable")
        if self.bad & set(items):
            raise PermanentError(f"rejected {sorted(self.bad & set(items))}")
        return [i * 10 for i in items]


async def test_concurrent_submits_share_one_call_and_each_gets_its_own_result() -> None:
    call = Recorder()
    coalescer: Coalescer[int, int] = Coalescer(call, max_weight=100)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert call.calls == [[0, 1, 2, 3, 4]]


async def test_a_full_batch_is_sent_and_the_rest_start_the_next() -> None:
    call = Recorder()
    coalescer: Coalescer[int, int] = Coalescer(call, max_weight=5, weight=lambda i: 2)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert [len(c) for c in call.calls] == [2, 2, 1]


async def test_a_permanent_error_fails_only_the_item_at_fault() -> None:
    call = Recorder(bad={2})
    coalescer: Coalescer[int, int] = Coalescer(call, max_weight=100)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(4)), return_exceptions=True)
    assert results[:2] == [0, 10] and results[3] == 30
    assert isinstance(results[2], PermanentError)
    assert call.calls[0] == [0, 1, 2, 3]
    assert sorted(call.calls[1:]) == [[0], [1], [2], [3]]


async def test_a_transient_error_reaches_every_caller_of_the_batch() -> None:
    call = Recorder(transient=True)
    coalescer: Coalescer[int, int] = Coalescer(call, max_weight=100)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, TransientError) for r in results)
    assert call.calls == [[0, 1, 2]]


async def test_items_wait_for_a_free_slot_and_then_go_together() -> None:
    call = Recorder()
    call.release.clear()
    coalescer: Coalescer[int, int] = Coalescer(
        call, max_weight=100, max_in_flight=1, max_wait_s=0.0
    )
    first = asyncio.ensure_future(coalescer.submit(0))
    await call.entered.wait()
    later = [asyncio.ensure_future(coalescer.submit(i)) for i in range(1, 6)]
    for _ in range(20):  # the loop goes round: every linger timer (0 s) has fired
        await asyncio.sleep(0)
    assert call.calls == [[0]]  # no second call while one is out
    call.release.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [10, 20, 30, 40, 50]
    assert call.calls == [[0], [1, 2, 3, 4, 5]]


async def test_aclose_sends_what_is_parked() -> None:
    call = Recorder()
    coalescer: Coalescer[int, int] = Coalescer(call, max_weight=100, max_wait_s=60.0)
    pending = asyncio.ensure_future(coalescer.submit(7))
    await asyncio.sleep(0)
    await coalescer.aclose()
    assert await pending == 70


async def test_a_wrong_number_of_results_is_an_error_for_every_caller() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return [1]

    coalescer: Coalescer[int, int] = Coalescer(short, max_weight=100)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(2)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) and "2 items" in str(r) for r in results)


def test_bad_options_are_refused() -> None:
    async def call(items: Sequence[int]) -> list[int]:
        return list(items)

    with pytest.raises(ValueError, match="max_weight"):
        Coalescer(call, max_weight=0)
    with pytest.raises(ValueError, match="max_in_flight"):
        Coalescer(call, max_weight=1, max_in_flight=0)
