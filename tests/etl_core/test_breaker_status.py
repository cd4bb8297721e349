"""The breaker's status is read with read commands only (for a read-only ACL user); its window
counts are the Lua helper's (``scripts/breaker_window.lua``), on fakeredis and real Redis, and its
state codes the scripts' own."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from etl_core import scripts
from etl_core.breaker_status import BreakerCode, BreakerState, window_counts

# Runs the scripts' own window_counts on KEYS[1], at ARGV[1] ms, over ARGV[2] ms.
COUNTS_SCRIPT = """-- #include breaker_window
return {window_counts(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))}
"""


async def test_window_counts_agree_with_the_scripts(aredis: Any) -> None:
    include = scripts._INCLUDE.sub(lambda m: scripts._read(m.group(1)), COUNTS_SCRIPT)
    lua = aredis.register_script(include)
    rng = random.Random(7)
    now_ms, window_ms = 1_700_000_000_000, 120_000
    for trial in range(20):
        key = f"calls:{trial}"
        entries = [
            rng.choice("oOfF") + str(now_ms - rng.randrange(0, 2 * window_ms))
            for _ in range(rng.randrange(0, 40))
        ]
        if entries:
            await aredis.rpush(key, *entries)
        expected = [int(x) for x in await lua(keys=[key], args=[now_ms, window_ms])]
        stored = await aredis.lrange(key, 0, -1)
        assert list(window_counts(stored, now_ms=now_ms, window_ms=window_ms)) == expected


def test_window_counts_counts_each_kind() -> None:
    entries = [b"o1000", b"O1000", b"f1000", b"F1000", "f10"]  # the last one is too old
    assert window_counts(entries, now_ms=1500, window_ms=1000) == (4, 2, 2)


@pytest.mark.parametrize("script", ["breaker_before_call", "breaker_record"])
def test_the_scripts_code_states_as_breaker_code(script: str) -> None:
    source = scripts._read(script)
    found = re.search(r"^local CLOSED, OPEN, HALF_OPEN = (\d+), (\d+), (\d+)", source, re.M)
    assert found is not None, f"{script}.lua no longer names its state codes"
    codes = tuple(int(c) for c in found.groups())
    assert codes == (BreakerCode.CLOSED, BreakerCode.OPEN, BreakerCode.HALF_OPEN)


def test_each_code_names_one_state_and_back() -> None:
    assert [c.state for c in BreakerCode] == list(BreakerState)
    assert all(s.code.state is s for s in BreakerState)
