from datetime import UTC, datetime

import pytest

from etl_core.errors import PoisonMessage
from etl_core.task import ScheduledTask, TaskCodec
from etl_core.windows import parse_window, window_label


class Ingest(ScheduledTask):
    task_type = "test.ingest"


class Other(ScheduledTask):
    task_type = "test.other"
    schema_version = 2


codec = TaskCodec([Ingest, Other])


def test_task_id_is_deterministic_per_location_and_window() -> None:
    a = Ingest(location_id="loc-1", window="2026-11-22T10:00Z")
    b = Ingest(location_id="loc-1", window="2026-11-22T10:00Z")
    c = Ingest(location_id="loc-1", window="2026-11-22T11:00Z")
    assert a.task_id == b.task_id == "test.ingest:loc-1@2026-11-22T10:00Z"
    assert a.task_id != c.task_id


def test_round_trip_keeps_task_and_attempts() -> None:
    task = Other(location_id="x", window="w")
    fields = codec.encode(task, attempts=3)
    raw = {k.encode(): v.encode() for k, v in fields.items()}
    env = codec.decode(raw)
    assert env.task == task and env.attempts == 3 and isinstance(env.task, Other)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (None, "no fields"),
        ({"type": "test.ingest"}, "lacks field(s) v, task_id, payload"),
        ({"type": "nope", "v": "1", "task_id": "x", "payload": "{}"}, "unknown task type 'nope'"),
        ({"type": "test.other", "v": "1", "task_id": "x", "payload": "{}"}, "schema version '1'"),
        (
            {"type": "test.ingest", "v": "1", "task_id": "x", "payload": "{not json"},
            "invalid payload",
        ),
        (
            {
                "type": "test.ingest",
                "v": "1",
                "task_id": "x",
                "payload": '{"location_id": 5, "window": "w"}',
            },
            "location_id",
        ),
        (
            {
                "type": "test.ingest",
                "v": "1",
                "task_id": "test.ingest:a@w",
                "payload": '{"location_id": "a", "window": "w", "extra": 1}',
            },
            "extra",
        ),
        (
            {
                "type": "test.ingest",
                "v": "1",
                "task_id": "forged",
                "payload": '{"location_id": "a", "window": "w"}',
            },
            "does not match its payload",
        ),
        (
            {
                "type": "test.ingest",
                "v": "1",
                "task_id": "test.ingest:a@w",
                "attempts": "-1",
                "payload": '{"location_id": "a", "window": "w"}',
            },
            "attempts",
        ),
        ({b"type": b"\xff\xfe", b"v": b"1"}, "UTF-8"),
    ],
)
def test_bad_entries_are_poison_with_a_reason(fields: dict | None, reason: str) -> None:
    with pytest.raises(PoisonMessage, match=None) as info:
        codec.decode(fields)
    assert reason in str(info.value)


def test_windows() -> None:
    now = datetime(2026, 11, 22, 10, 59, 59, tzinfo=UTC)
    assert window_label(now, "1h") == "2026-11-22T10:00Z"
    assert window_label(now, "15m") == "2026-11-22T10:45Z"
    assert window_label(now, "1d") == "2026-11-22T00:00Z"
    for bad in ("7m", "1x", "", "0h"):
        with pytest.raises(ValueError, match="schedule window"):
            parse_window(bad)


async def test_backends_share_data(sredis, aredis) -> None:
    sredis.set("k", "v")
    assert await aredis.get("k") == b"v"
