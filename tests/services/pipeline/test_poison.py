"""Poison entries written straight into both streams end in the matching dead-letter stream with
a ``PoisonMessage`` reason, and the workers keep going: every good task around them completes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from etl_core.deadletter import DeadLetters
from etl_core.windows import window_label
from services import pipeline_keys
from services.tasks import PIPELINE_CODEC, CategorizeTask, IngestTask
from tests.conftest import RedisBackend
from tests.services.conftest import SourceUnderTest, WeatherService, owm_total_calls, trail
from tests.services.pipeline.failure_support import (
    assert_nothing_pending,
    latest_conditions,
    locations_with_weather,
    run_categorize,
    run_fetch,
    schedule,
)

LOCATIONS = 10


def _poison(task_type: str, extra: dict[str, Any]) -> list[tuple[dict[str, str], str]]:
    """(entry fields, a piece of the reason the dead-letter entry must give) for one stream."""
    window = window_label(datetime.now(UTC), "1h")
    loc = trail(900)
    payload = {"location_id": loc["id"], "window": window, **extra}
    good = {
        "type": task_type,
        "v": "1",
        "task_id": f"{task_type}:{loc['id']}@{window}",
        "payload": json.dumps(payload),
        "attempts": "0",
    }

    def but(**changes: str) -> dict[str, str]:
        return {**good, **changes}

    no_payload = {k: v for k, v in good.items() if k != "payload"}
    no_type = {k: v for k, v in good.items() if k not in ("type", "v")}
    return [
        (no_payload, "entry lacks field(s) payload"),
        (no_type, "entry lacks field(s) type, v"),
        (but(type="owm.nope"), "unknown task type 'owm.nope'"),
        (but(payload='{"location_id": "trail-0900", "window"'), "Invalid JSON"),
        (but(payload="[1, 2, 3]"), f"invalid payload for '{task_type}'"),
        (but(payload=json.dumps({**payload, "surprise": 1})), "surprise: Extra inputs"),
        (but(v="2"), f"task type '{task_type}' has schema version '2'"),
        (but(v="0"), f"task type '{task_type}' has schema version '0'"),
        (but(attempts="-1"), "field attempts must be an integer from 0 to 10000"),
        (but(task_id=f"{task_type}:someone-else@{window}"), "does not match its payload"),
        (_other_stage(task_type, loc, window), "(this worker handles " + task_type + ")"),
    ]


def _other_stage(task_type: str, loc: dict[str, Any], window: str) -> dict[str, str]:
    """A valid task of the other stage, put in the wrong stream: poison too, not a crash."""
    if task_type == "owm.ingest":
        wrong: Any = CategorizeTask(location_id=loc["id"], window=window)
    else:
        wrong = IngestTask(location_id=loc["id"], window=window, lat=loc["lat"], lon=loc["lon"])
    return PIPELINE_CODEC.encode(wrong)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _add_all(sredis: Any, stream: str, entries: list[tuple[dict[str, str], str]]) -> dict[str, str]:
    """Add the entries; their ids mapped to the reason each must be dead-lettered with."""
    added = {}
    for fields, reason in entries:
        entry_id = sredis.xadd(stream, fields)
        added[_text(entry_id)] = reason
    return added


def _check_dead_letters(sredis: Any, stream: str, expected: dict[str, str], group: str) -> None:
    dead = DeadLetters(sredis, stream)
    entries = dead.list_entries(limit=1000)
    assert len(entries) == len(expected)
    by_source = {e.fields["dlq_source_id"]: e for e in entries}
    assert sorted(by_source) == sorted(expected)
    for source_id, reason in expected.items():
        entry = by_source[source_id]
        assert entry.error_type == "PoisonMessage", entry
        assert reason in entry.error, (reason, entry.error)
        assert entry.fields["dlq_stage"] == group
        assert entry.fields["dlq_source_stream"] == stream
        assert entry.fields["dlq_deliveries"] == "1"
    # The original fields are kept unchanged, for an operator to look at or repair.
    originals = {
        _text(eid): {_text(k): _text(v) for k, v in fields.items()}
        for eid, fields in sredis.xrange(stream)
    }
    for source_id in expected:
        assert by_source[source_id].original_fields == originals[source_id]


async def test_poison_entries_are_dead_lettered_and_good_tasks_complete(
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    sredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
    source: SourceUnderTest,
) -> None:
    ids = [trail(n)["id"] for n in range(LOCATIONS)]
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])
    ingest_poison = _poison("owm.ingest", {"lat": 39.0, "lon": -105.0})
    categorize_poison = _poison("owm.categorize", {})

    # Poison before and after the good tasks, in both streams.
    expected_ingest = _add_all(sredis, pipeline_keys.INGESTION_STREAM, ingest_poison[:5])
    assert await schedule(weather, backend, tmp_path) == LOCATIONS
    expected_ingest |= _add_all(sredis, pipeline_keys.INGESTION_STREAM, ingest_poison[5:])
    expected_categorize = _add_all(
        sredis, pipeline_keys.CATEGORIZATION_STREAM, categorize_poison[:5]
    )

    fetched = await run_fetch(weather, owm_http, aredis, settings=source.settings())
    assert fetched.forwarded == LOCATIONS
    assert fetched.dead_lettered == len(ingest_poison)
    assert fetched.by_error_type == {"PoisonMessage": len(ingest_poison)}

    expected_categorize |= _add_all(
        sredis, pipeline_keys.CATEGORIZATION_STREAM, categorize_poison[5:]
    )
    categorized = await run_categorize(weather, aredis)
    assert categorized.done == LOCATIONS
    assert categorized.dead_lettered == len(categorize_poison)
    assert categorized.by_error_type == {"PoisonMessage": len(categorize_poison)}

    _check_dead_letters(
        sredis, pipeline_keys.INGESTION_STREAM, expected_ingest, pipeline_keys.FETCH_GROUP
    )
    _check_dead_letters(
        sredis,
        pipeline_keys.CATEGORIZATION_STREAM,
        expected_categorize,
        pipeline_keys.CATEGORIZE_GROUP,
    )
    assert sorted(await locations_with_weather(weather, ids)) == ids
    conditions = await latest_conditions(weather)
    assert sorted(conditions) == ids  # nothing for the poison's trail-0900
    assert all(c["label"] != "unknown" and c["reasons"] for c in conditions.values())
    await assert_nothing_pending(aredis)


def _ingest_entry(loc: dict[str, Any], *, window: str, attempts: str = "0") -> dict[str, str]:
    """The fields of an ingest entry for ``loc``, consistent but for what the caller changes."""
    payload = {"location_id": loc["id"], "window": window, "lat": loc["lat"], "lon": loc["lon"]}
    return {
        "type": "owm.ingest",
        "v": "1",
        "task_id": f"owm.ingest:{loc['id']}@{window}",
        "payload": json.dumps(payload),
        "attempts": attempts,
    }


def _bad_fields(field: str, good: dict[str, Any], now: datetime) -> list[dict[str, str]]:
    this_window = window_label(now, "1h")
    if field == "window":
        return [
            _ingest_entry(good, window=label)
            for label in (
                "not-a-window",
                this_window.replace(":00Z", ":15Z"),
                window_label(now + timedelta(hours=3), "1h"),  # past a rollover too
            )
        ]
    if field == "location_id":
        return [
            _ingest_entry({**good, "id": location_id}, window=this_window)
            for location_id in ("bad-1; DROP TABLE x", "a" * 1_000_000)
        ]
    return [_ingest_entry(good, window=this_window, attempts=n) for n in ("9" * 40, "x", "-1")]


FIELD_REASONS = {
    "window": "invalid payload for 'owm.ingest': window: ",
    "location_id": "invalid payload for 'owm.ingest': location_id: ",
    "attempts": "field attempts must be an integer",
}


@pytest.mark.parametrize("field", sorted(FIELD_REASONS))
async def test_a_bad_task_field_is_poison_before_any_owm_call(
    field: str,
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    sredis: Any,
) -> None:
    loc = trail(901)
    await weather.client.upsert_locations([loc])
    entries = _bad_fields(field, loc, datetime.now(UTC))
    for fields in entries:
        sredis.xadd(pipeline_keys.INGESTION_STREAM, fields)
    calls = await owm_total_calls(owm_http)

    fetched = await run_fetch(weather, owm_http, aredis)
    assert fetched.by_error_type == {"PoisonMessage": len(entries)}
    assert fetched.forwarded == 0
    assert await owm_total_calls(owm_http) == calls
    dead = DeadLetters(sredis, pipeline_keys.INGESTION_STREAM).list_entries(limit=100)
    assert len(dead) == len(entries)
    for entry in dead:
        assert entry.error_type == "PoisonMessage"
        assert FIELD_REASONS[field] in entry.error, entry.error
        assert len(entry.error) < 300
    assert await latest_conditions(weather) == {}

    # The same location and window, well formed, is fetched: the count above could have moved.
    sredis.xadd(
        pipeline_keys.INGESTION_STREAM,
        _ingest_entry(loc, window=window_label(datetime.now(UTC), "1h")),
    )
    fetched = await run_fetch(weather, owm_http, aredis)
    assert fetched.forwarded == 1
    assert await owm_total_calls(owm_http) > calls
