"""Locations files read by one rule on both paths: ``trail-etl locations import FILE`` and
schedule-jobs' ``LOCATIONS_FILE``. Duplicate ids are refused naming both lines, a UTF-8 byte
order mark is read, unknown columns are named, an empty file is an error, and messages name the
file as the user gave it. A refused file sends and queues nothing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from etl_core.producer import StreamProducer
from services import pipeline_keys
from services.cli import app
from services.locations_import import LocationRecord, import_locations
from services.schedule_jobs.locations import KNOWN_COLUMNS, LocationsFileError
from services.schedule_jobs.run import ScheduleOptions, run_schedule
from tests.services.conftest import WeatherService

Reader = Callable[[Path], Awaitable[int]]


@pytest.fixture(params=["import", "schedule"])
def read(
    request: pytest.FixtureRequest, weather: WeatherService, sredis: Any, tmp_path: Path
) -> Reader:
    """Reads a file the way one path does; the number of locations it took."""

    async def by_import(path: Path) -> int:
        return (await import_locations(path, weather.client, chunk=1)).sent

    async def by_schedule(path: Path) -> int:
        report = await run_schedule(
            ScheduleOptions(
                outbox_path=tmp_path / "outbox.sqlite3", chunk_size=1, locations_file=path
            ),
            weather=weather.client,
            producer=StreamProducer(sredis, pipeline_keys.INGESTION_STREAM),
        )
        return int(report.published)

    return by_import if request.param == "import" else by_schedule


async def nothing_taken(weather: WeatherService, sredis: Any) -> None:
    assert not sredis.exists(pipeline_keys.INGESTION_STREAM), "a refused file queued tasks"
    page = await weather.http.get("/v1/locations")
    assert page.json()["items"] == [], "a refused file stored locations"


CSV_DUPLICATE = "id,name,lat,lon\na-1,A,1,2\nb-2,B,3,4\na-1,A again,5,6\n"
JSONL_DUPLICATE = "\n".join(
    json.dumps({"id": i, "lat": 1, "lon": 2}) for i in ("a-1", "b-2", "c-3", "b-2")
)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("dup.csv", CSV_DUPLICATE, "line 4: id 'a-1' is given twice (first at line 2)"),
        ("dup.jsonl", JSONL_DUPLICATE, "line 4: id 'b-2' is given twice (first at line 2)"),
        (
            "dup.json",
            json.dumps([{"id": "x", "lat": 1, "lon": 2}, {"id": "x", "lat": 1, "lon": 2}]),
            "item 1: id 'x' is given twice (first at item 0)",
        ),
    ],
)
async def test_a_duplicate_id_is_refused_naming_both_places(
    read: Reader,
    weather: WeatherService,
    sredis: Any,
    tmp_path: Path,
    name: str,
    text: str,
    expected: str,
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LocationsFileError) as info:
        await read(path)
    assert expected in str(info.value)
    await nothing_taken(weather, sredis)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty.csv", ""),
        ("header.csv", "id,lat,lon\n"),
        ("empty.json", "[]"),
        ("blank.json", "\n"),
        ("empty.jsonl", "\n\n"),
    ],
)
async def test_a_file_without_locations_is_an_error(
    read: Reader, tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LocationsFileError, match="holds no locations"):
        await read(path)


async def test_a_byte_order_mark_is_read(read: Reader, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffid,name,lat,lon\nbom-1,A,1,2\nbom-2,B,3,4\n".encode())
    assert await read(path) == 2


async def test_messages_name_the_file_as_given(
    weather: WeatherService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.csv").write_text("id,lat,lon\nx,95,2\n", encoding="utf-8")
    with pytest.raises(LocationsFileError) as info:
        await import_locations(Path("mine.csv"), weather.client)
    assert str(info.value).startswith("mine.csv: line 2: field 'lat'")
    assert "LOCATIONS_FILE" not in str(info.value)


async def test_schedule_names_its_setting_and_logs_unknown_columns(
    weather: WeatherService, sredis: Any, tmp_path: Path
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("id,lat,lon,elevation,canopy\nu-1,1,2,900,open\n", encoding="utf-8")
    with capture_logs() as logs:
        report = await run_schedule(
            ScheduleOptions(outbox_path=tmp_path / "outbox.sqlite3", locations_file=path),
            weather=weather.client,
            producer=StreamProducer(sredis, pipeline_keys.INGESTION_STREAM),
        )
    assert report.published == 1
    (warning,) = [e for e in logs if e["event"] == "locations_file_unknown_columns"]
    assert warning["columns"] == ["elevation"] and warning["log_level"] == "warning"

    bad = tmp_path / "bad.csv"
    bad.write_text("id,lat\nx,1\n", encoding="utf-8")
    with pytest.raises(LocationsFileError, match=f"^LOCATIONS_FILE {bad}: line 1"):
        await run_schedule(
            ScheduleOptions(outbox_path=tmp_path / "outbox.sqlite3", locations_file=bad),
            weather=weather.client,
            producer=StreamProducer(sredis, pipeline_keys.INGESTION_STREAM),
        )


def test_import_warns_of_unknown_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_import(path: Path, settings: Any) -> Any:
        return await import_locations(path, _Recorder())  # type: ignore[arg-type]

    monkeypatch.setattr("services.cli.locations._import", fake_import)
    path = tmp_path / "typo.jsonl"
    path.write_text('{"id": "t-1", "lat": 1, "lon": 2, "canopi": "open"}\n', encoding="utf-8")
    result = CliRunner().invoke(
        app, ["locations", "import", str(path)], env={"WEATHER_SERVICE_API_KEY": "k" * 16}
    )
    assert result.exit_code == 0, result.output
    assert f"warning: {path}: ignored unknown column(s) canopi" in result.output
    assert "imported 1 locations" in result.output


class _Recorder:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def upsert_locations(self, bodies: list[dict[str, Any]]) -> None:
        self.bodies.extend(bodies)


def test_known_columns_are_the_location_records_fields() -> None:
    assert set(LocationRecord.model_fields) == KNOWN_COLUMNS
