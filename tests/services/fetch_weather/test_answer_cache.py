"""The answer cache keeps only what the transform reads, compressed: same records, a few KB."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson

from services.fetch_weather.gate import _decode_cached, _encode_cached
from services.fetch_weather.owm.transform import (
    day_summary_kept,
    day_summary_records,
    onecall_kept,
    onecall_records,
)
from tests.services.conftest import OWM_KEY

WHERE = {"lat": 46.5, "lon": 7.9, "appid": OWM_KEY}
FETCHED_AT = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)


async def test_a_kept_onecall_answer_gives_the_same_records_at_a_fraction_of_the_size(
    owm_http: httpx.AsyncClient,
) -> None:
    answer = (await owm_http.get("/data/3.0/onecall", params=WHERE)).json()
    kept = onecall_kept(answer)
    assert onecall_records(kept, fetched_at=FETCHED_AT) == onecall_records(
        answer, fetched_at=FETCHED_AT
    )
    assert kept["timezone_offset"] == answer["timezone_offset"]  # the handler reads it too
    stored = _encode_cached(kept, FETCHED_AT)
    assert _decode_cached(stored) == (kept, FETCHED_AT)
    assert len(stored) * 5 < len(orjson.dumps(answer))


async def test_a_kept_day_summary_gives_the_same_records(owm_http: httpx.AsyncClient) -> None:
    answer = (
        await owm_http.get("/data/3.0/onecall/day_summary", params={**WHERE, "date": "2026-11-20"})
    ).json()
    assert day_summary_records(day_summary_kept(answer), fetched_at=FETCHED_AT) == (
        day_summary_records(answer, fetched_at=FETCHED_AT)
    )


def test_a_malformed_answer_stays_malformed() -> None:
    assert onecall_kept({"current": "x", "hourly": {"a": 1}}) == {
        "current": "x",
        "hourly": {"a": 1},
    }
    assert onecall_kept({"hourly": [1, {"dt": 1, "extra": 2}]}) == {"hourly": [1, {"dt": 1}]}


def test_a_value_of_another_form_reads_as_absent() -> None:
    """Anything but ``z1`` (an uncompressed entry, a truncated one) is asked for again."""
    uncompressed = FETCHED_AT.isoformat().encode() + b'\n{"current": {"dt": 1}}'
    truncated = _encode_cached({"current": {"dt": 1}}, FETCHED_AT)[:-3]
    assert _decode_cached(uncompressed) is None
    assert _decode_cached(truncated) is None
