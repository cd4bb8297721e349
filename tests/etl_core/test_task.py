import json
from datetime import UTC, datetime

import pytest

from etl_core.errors import PoisonMessage
from etl_core.task import MAX_ATTEMPTS, ScheduledTask, TaskCodec
from etl_core.windows import WindowRule, parse_window, window_label


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


NOW = datetime(2026, 11, 22, 10, 31, tzinfo=UTC)
windowed = TaskCodec([Ingest], window_rule=WindowRule("1h", clock=lambda: NOW))


def _entry(window: str = "2026-11-22T10:00Z", *, attempts: str = "0", **fields: str) -> dict:
    payload = {"location_id": "a", "window": window}
    return {
        "type": "test.ingest",
        "v": "1",
        "task_id": f"test.ingest:a@{window}",
        "payload": json.dumps(payload),
        "attempts": attempts,
        **fields,
    }


@pytest.mark.parametrize(
    ("window", "rule"),
    [
        ("not-a-window", "must be a window label like 2026-11-22T10:00Z"),
        ("2026-11-22T10:15Z", "is not the start of a 1h window"),
        ("2026-11-22T12:00Z", "more than one 1h window after this worker's clock"),
        ("w" * 1_000_000, "must be a window label"),
    ],
)
def test_a_codec_with_a_window_rule_refuses_other_labels(window: str, rule: str) -> None:
    with pytest.raises(PoisonMessage) as info:
        windowed.decode_text(_entry(window))
    message = str(info.value)
    assert message.startswith("invalid payload for 'test.ingest': window: ")
    assert rule in message
    assert len(message) < 300


def test_a_codec_with_a_window_rule_takes_the_schedules_labels() -> None:
    for label in ("2026-11-22T10:00Z", "2026-11-22T11:00Z", "2020-01-01T05:00Z"):
        assert windowed.decode_text(_entry(label)).task.window == label  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "attempts",
    [
        *("-1", "x", "", " 1", "1.0", "+1", "1e3"),
        *("\u00b2", "\u0661"),  # digits to str.isdigit(), not to int() or not ASCII
        *(str(MAX_ATTEMPTS + 1), "9" * 40, "9" * 10**6),
    ],
)
def test_attempts_out_of_bounds_is_poison_naming_the_field(attempts: str) -> None:
    with pytest.raises(PoisonMessage) as info:
        codec.decode_text(_entry(attempts=attempts))
    message = str(info.value)
    assert message.startswith(f"field attempts must be an integer from 0 to {MAX_ATTEMPTS}, got ")
    assert len(message) < 200


@pytest.mark.parametrize("attempts", ["0", "7", "007", str(MAX_ATTEMPTS)])
def test_attempts_within_bounds_decode(attempts: str) -> None:
    assert codec.decode_text(_entry(attempts=attempts)).attempts == int(attempts)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "t" * 1_000_000},
        {"v": "9" * 1_000_000},
        {"task_id": "test.ingest:" + "a" * 1_000_000},
        {"payload": json.dumps({"location_id": "a", "window": "w", "k" * 1_000_000: 1})},
    ],
)
def test_a_poison_message_repeats_only_a_prefix_of_a_huge_value(fields: dict[str, str]) -> None:
    with pytest.raises(PoisonMessage) as info:
        codec.decode_text(_entry("w", **fields))
    assert len(str(info.value)) < 500
    assert "chars" in str(info.value)


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
