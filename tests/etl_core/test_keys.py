"""Key names: the prefix of every derived key is one setting (``keys.set_prefix``), ``etl`` by
default; streams and their dead-letter streams are never prefixed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from etl_core import keys
from etl_core.breaker import CircuitBreaker
from etl_core.outcomes import Done, Outcome, Retry
from etl_core.pause import StagePause
from etl_core.ratelimit import RateLimiter
from etl_core.worker import Worker
from tests.etl_core.workerkit import CODEC, GROUP, STREAM, Recorder, fast_options, jobs, publish

S = "some-stream:{p0}"


def derived(stream: str = S, group: str = "g") -> list[str]:
    """One name of every kind of derived key."""
    return [
        keys.delayed_set(stream),
        keys.published_markers(stream, 7),
        keys.published_marker_prefix(stream),
        keys.replication_fence(stream),
        keys.done_marks(stream, group, 7),
        keys.done_marks_prefix(stream, group),
        keys.window_tally(stream, "w"),
        keys.settled_log(stream, group),
        keys.rate_limit_window("lim", 60_000),
        keys.rate_limit_admission("lim"),
        keys.rate_limit_refusals("lim"),
        keys.rate_limit_day("lim"),
        keys.breaker("brk"),
        keys.breaker_calls("brk"),
        keys.stage_pause(group),
        keys.stage_pause_trial(group),
        keys.heartbeat(group, "c"),
        keys.heartbeat_prefix(group),
    ]


@pytest.fixture
def prefix() -> Iterator[str]:
    """Another prefix for the test, the default one back afterwards."""
    keys.set_prefix("other-app")
    try:
        yield "other-app"
    finally:
        keys.set_prefix("etl")


def test_the_default_prefix_and_the_names_operators_know() -> None:
    assert keys.PREFIX == "etl"
    assert all(name.startswith("etl:") for name in derived())
    assert keys.delayed_set(S) == "etl:delayed:some-stream:{p0}"
    assert keys.rate_limit_day("lim") == "etl:{ratelimit:lim}:day"
    assert keys.breaker_calls("brk") == "etl:{breaker:brk}:calls"
    assert keys.stage_pause_trial("g") == "etl:{pause:g}:trial"
    assert keys.partition_stream("base") == "base:{p0}"
    assert keys.dead_letter_stream(S) == "some-stream:{p0}:dlq"


def test_set_prefix_renames_every_derived_key_and_no_stream(prefix: str) -> None:
    names = derived()
    assert all(name.startswith(f"{prefix}:") for name in names)
    assert [name.removeprefix(f"{prefix}:") for name in names] == [
        name.removeprefix("etl:") for name in _with_default_prefix(derived)
    ]
    assert keys.partition_stream("base") == "base:{p0}"
    assert keys.dead_letter_stream(S) == "some-stream:{p0}:dlq"


def _with_default_prefix(names: Any) -> list[str]:
    previous = keys.PREFIX
    keys.set_prefix("etl")
    try:
        return list(names())
    finally:
        keys.set_prefix(previous)


@pytest.mark.parametrize("bad", ["", "{etl}", "etl{", "e*", "e?", "e[1]", "a b", ":etl", "e\\t"])
def test_a_prefix_that_would_break_slots_or_scans_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="key prefix"):
        keys.set_prefix(bad)
    assert keys.PREFIX == "etl"


async def test_what_the_library_writes_is_under_the_prefix_set(aredis: Any, prefix: str) -> None:
    await RateLimiter(aredis, "lim", windows=[(60_000, 5)]).try_acquire()
    await CircuitBreaker(aredis, "brk").record_failure()
    pause = StagePause(aredis, GROUP)
    await pause.pause("by hand")
    assert (await aredis.hgetall(f"{prefix}:{{pause:{GROUP}}}")) != {}
    await pause.resume()
    await publish(aredis, jobs(3))

    async def retry_once(_task: Any, _ctx: Any, n: int) -> Outcome:
        return Retry("Again", "once more", delay_s=0.01) if n == 1 else Done()

    worker = Worker(aredis, CODEC, Recorder(retry_once), fast_options())
    await asyncio.wait_for(worker.run(until_idle=True), timeout=30)
    assert worker.counts.done == 3 and worker.counts.retried == 3

    written = {k.decode() if isinstance(k, bytes) else k for k in await aredis.keys("*")}
    assert STREAM in written
    ours = written - {STREAM}
    assert any(":{ratelimit:lim}:" in k for k in ours) and any(":done:" in k for k in ours)
    assert all(k.startswith(f"{prefix}:") for k in ours), sorted(ours)
