"""The pipeline's task rules: location ids follow the weather service's id rule, windows the
schedule's, before any handler (or paid call) sees the task."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from etl_core.errors import PoisonMessage
from etl_core.task import TaskCodec
from etl_core.windows import WindowRule
from services.tasks import (
    CategorizeTask,
    IngestTask,
    categorize_codec,
    ingest_codec,
)

NOW = datetime(2026, 11, 22, 10, 31, tzinfo=UTC)
RULE = WindowRule("1h", clock=lambda: NOW)
WINDOW = "2026-11-22T10:00Z"


def _entry(task_type: str, location_id: str, window: str = WINDOW) -> dict[str, str]:
    payload: dict[str, Any] = {"location_id": location_id, "window": window}
    if task_type == IngestTask.task_type:
        payload |= {"lat": 49.726, "lon": -123.117}
    return {
        "type": task_type,
        "v": "1",
        "task_id": f"{task_type}:{location_id}@{window}",
        "payload": json.dumps(payload),
        "attempts": "0",
    }


CODECS = [
    (IngestTask.task_type, ingest_codec(RULE)),
    (CategorizeTask.task_type, categorize_codec(RULE)),
]


@pytest.mark.parametrize(("task_type", "codec"), CODECS)
@pytest.mark.parametrize(
    ("location_id", "rule"),
    [
        ("bad-1; DROP TABLE x", "String should match pattern"),
        ("a/../b", "String should match pattern"),
        ("a@b", "String should match pattern"),
        ("-leading-dash", "String should match pattern"),
        ("trail\u00e9", "String should match pattern"),
        ("", "at least 1 character"),
        ("a" * 101, "at most 100 characters"),
        ("a" * 1_000_000, "at most 100 characters"),
    ],
)
def test_a_location_id_off_the_weather_services_rule_is_poison(
    task_type: str, codec: TaskCodec, location_id: str, rule: str
) -> None:
    with pytest.raises(PoisonMessage) as info:
        codec.decode_text(_entry(task_type, location_id))
    message = str(info.value)
    assert message.startswith(f"invalid payload for '{task_type}': location_id: ")
    assert rule in message
    assert "DROP" not in message and len(message) < 300


@pytest.mark.parametrize(("task_type", "codec"), CODECS)
@pytest.mark.parametrize("location_id", ["squamish-half", "a" * 100, "trail_0042.b:c", "9"])
def test_location_ids_the_weather_service_takes_decode(
    task_type: str, codec: TaskCodec, location_id: str
) -> None:
    assert codec.decode_text(_entry(task_type, location_id)).task.location_id == location_id  # type: ignore[attr-defined]


@pytest.mark.parametrize(("task_type", "codec"), CODECS)
def test_the_stage_codecs_hold_windows_to_the_schedule(task_type: str, codec: TaskCodec) -> None:
    with pytest.raises(PoisonMessage, match="window: Value error, must be a window label"):
        codec.decode_text(_entry(task_type, "squamish-half", "not-a-window"))
