"""safe_trim removes only what every consumer group is done with (fake and real Redis)."""

from __future__ import annotations

import random
from typing import Any

from etl_core.trim import safe_trim

STREAM = "test-trim-stream"


def fill(client: Any, n: int) -> list[bytes]:
    return [client.xadd(STREAM, {"n": str(i)}) for i in range(n)]


def read(client: Any, group: str, count: int) -> list[bytes]:
    if count == 0:
        return []
    reply = client.xreadgroup(group, "c", {STREAM: ">"}, count=count)
    return [entry_id for entry_id, _ in reply[0][1]] if reply else []


def remaining(client: Any) -> list[bytes]:
    return [entry_id for entry_id, _ in client.xrange(STREAM)]


def test_trims_below_the_slower_groups_oldest_pending_entry(sredis: Any) -> None:
    ids = fill(sredis, 10)
    sredis.xgroup_create(STREAM, "fast", id="0")
    sredis.xgroup_create(STREAM, "slow", id="0")
    sredis.xack(STREAM, "fast", *read(sredis, "fast", 10))
    delivered = read(sredis, "slow", 6)  # 6..9 undelivered
    sredis.xack(STREAM, "slow", *delivered[:2])  # 2..5 pending
    assert safe_trim(sredis, STREAM) == 2
    assert remaining(sredis) == ids[2:]
    assert safe_trim(sredis, STREAM) == 0


def test_trims_below_the_slower_groups_first_undelivered_entry(sredis: Any) -> None:
    ids = fill(sredis, 10)
    sredis.xgroup_create(STREAM, "fast", id="0")
    sredis.xgroup_create(STREAM, "slow", id="0")
    sredis.xack(STREAM, "fast", *read(sredis, "fast", 10))
    sredis.xack(STREAM, "slow", *read(sredis, "slow", 4))  # nothing pending, 4..9 undelivered
    assert safe_trim(sredis, STREAM) == 4
    assert remaining(sredis) == ids[4:]


def test_an_old_pending_entry_holds_back_the_trim(sredis: Any) -> None:
    ids = fill(sredis, 10)
    sredis.xgroup_create(STREAM, "g", id="0")
    delivered = read(sredis, "g", 10)
    sredis.xack(STREAM, "g", *[i for i in delivered if i != ids[3]])
    assert safe_trim(sredis, STREAM) == 3
    assert remaining(sredis) == ids[3:]


def test_a_group_that_read_nothing_keeps_everything(sredis: Any) -> None:
    fill(sredis, 10)
    sredis.xgroup_create(STREAM, "fast", id="0")
    sredis.xgroup_create(STREAM, "idle", id="0")
    sredis.xack(STREAM, "fast", *read(sredis, "fast", 10))
    assert safe_trim(sredis, STREAM) == 0
    assert sredis.xlen(STREAM) == 10


def test_everything_acknowledged_by_every_group_is_removed(sredis: Any) -> None:
    fill(sredis, 10)
    for group in ("a", "b"):
        sredis.xgroup_create(STREAM, group, id="0")
        sredis.xack(STREAM, group, *read(sredis, group, 10))
    assert safe_trim(sredis, STREAM) == 10
    later = fill(sredis, 3)
    assert safe_trim(sredis, STREAM) == 0
    assert remaining(sredis) == later


def test_a_group_created_at_the_end_does_not_need_older_entries(sredis: Any) -> None:
    fill(sredis, 5)
    sredis.xgroup_create(STREAM, "late", id="$")
    assert safe_trim(sredis, STREAM) == 5


def test_a_stream_without_groups_is_never_trimmed(sredis: Any) -> None:
    fill(sredis, 7)
    assert safe_trim(sredis, STREAM) == 0
    assert sredis.xlen(STREAM) == 7


def test_a_missing_stream_trims_nothing(sredis: Any) -> None:
    assert safe_trim(sredis, STREAM) == 0
    assert sredis.exists(STREAM) == 0


def test_ids_are_compared_and_incremented_exactly(sredis: Any) -> None:
    max_seq = "18446744073709551615"
    ids = ["1-9", "1-10", "1-99", "1-100", f"5-{max_seq}", "6-0", "10-0"]
    for entry_id in ids:
        sredis.xadd(STREAM, {"n": "x"}, id=entry_id)
    sredis.xgroup_create(STREAM, "g", id="0")
    sredis.xack(STREAM, "g", *read(sredis, "g", 3))  # through 1-99: next needed is 1-100
    assert safe_trim(sredis, STREAM) == 3
    sredis.xack(STREAM, "g", *read(sredis, "g", 2))  # through 5-max: next needed is 6-0
    assert safe_trim(sredis, STREAM) == 2
    assert remaining(sredis) == [b"6-0", b"10-0"]


def test_never_removes_a_pending_or_undelivered_entry(sredis: Any) -> None:
    rng = random.Random(7)
    groups = ["a", "b", "c"]
    total_removed = 0
    for round_number in range(12):
        fill(sredis, rng.randint(0, 30))
        if round_number == 0:
            for group in groups:
                sredis.xgroup_create(STREAM, group, id="0")
        needed: set[bytes] = set()
        for group in groups:
            delivered = read(sredis, group, rng.randint(0, 20))
            acked = [i for i in delivered if rng.random() < 0.7]
            if acked:
                sredis.xack(STREAM, group, *acked)
            pending = sredis.xpending_range(STREAM, group, min="-", max="+", count=10_000)
            needed |= {p["message_id"] for p in pending}
            [info] = [g for g in sredis.xinfo_groups(STREAM) if g["name"] == group.encode()]
            needed |= {
                i for i in remaining(sredis)
                if tuple(map(int, i.split(b"-")))
                > tuple(map(int, info["last-delivered-id"].split(b"-")))
            }
        before = set(remaining(sredis))
        removed = safe_trim(sredis, STREAM)
        after = set(remaining(sredis))
        assert needed <= after
        assert len(before - after) == removed
        total_removed += removed
    assert total_removed > 0
