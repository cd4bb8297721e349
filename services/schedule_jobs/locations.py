"""Locations to schedule, read in chunks from a CSV/JSON file or from the weather service.

A file holds objects with at least ``id``, ``lat`` and ``lon``; ``name``, ``elevation_m``,
``soil_drainage``, ``aspect`` and ``canopy`` are the traits ``locations import`` stores. Any other
column is ignored and named (``unknown_columns``), as a misspelt trait would otherwise be lost
without a word:

* ``.csv``: a header line naming the columns, then one location per line (streamed);
* ``.jsonl``: one JSON object per line (streamed);
* ``.json``: one array of objects (read whole: prefer ``.jsonl`` for very large sets).

A bad entry raises ``LocationsFileError`` naming the file as the user gave it, the line (or array
index) and the field. So does an id given twice (naming both lines: which of the two was meant is
the user's call), and a file with no location at all. A UTF-8 byte order mark (what spreadsheet
programs write) is read as such.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from etl_core.errors import ConfigurationError
from etl_core.logging import get_logger
from etl_core.text import clip
from services.weather_client import WeatherServiceClient
from weather_service.models.common import ResourceId

log = get_logger("services.schedule_jobs")


class LocationsFileError(ConfigurationError):
    """The LOCATIONS_FILE cannot be read or holds an invalid location."""


# Every column a locations file may hold (``LocationRecord`` of ``services.locations_import``).
KNOWN_COLUMNS = frozenset(
    {"id", "name", "lat", "lon", "elevation_m", "soil_drainage", "aspect", "canopy"}
)


class ScheduledLocation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: ResourceId  # the weather service's id rule, which the workers hold task ids to
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


@dataclass(frozen=True, slots=True)
class _Raw:
    where: str  # "line 7" or "item 3"
    fields: Mapping[str, Any]


def file_label(path: Path) -> str:
    """How schedule-jobs names its file in messages: by the setting it came from."""
    return f"LOCATIONS_FILE {path}"


def _parse(label: str, raw: _Raw) -> ScheduledLocation:
    try:
        return ScheduledLocation.model_validate(raw.fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "entry"
        raise LocationsFileError(f"{label}: {raw.where}: field {field!r}: {err['msg']}") from None


def _csv_rows(label: str, handle: Iterable[str], unknown: set[str]) -> Iterator[_Raw]:
    reader = csv.DictReader(handle)
    if reader.fieldnames is None:
        return
    columns = set(reader.fieldnames)
    missing = {"id", "lat", "lon"} - columns
    if missing:
        raise LocationsFileError(
            f"{label}: line 1: header lacks column(s) {', '.join(sorted(missing))}"
        )
    unknown.update(columns - KNOWN_COLUMNS)
    for row in reader:
        yield _Raw(where=f"line {reader.line_num}", fields=row)


def _jsonl_rows(label: str, handle: Iterable[str], unknown: set[str]) -> Iterator[_Raw]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LocationsFileError(f"{label}: line {number}: {exc.msg}") from None
        if not isinstance(value, dict):
            raise LocationsFileError(f"{label}: line {number}: not a JSON object")
        _note_unknown(value, unknown)
        yield _Raw(where=f"line {number}", fields=value)


def _json_rows(label: str, text: str, unknown: set[str]) -> Iterator[_Raw]:
    if not text.strip():
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LocationsFileError(
            f"{label}: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(value, list):
        raise LocationsFileError(f"{label}: must hold a JSON array of locations")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise LocationsFileError(f"{label}: item {index}: not a JSON object")
        _note_unknown(item, unknown)
        yield _Raw(where=f"item {index}", fields=item)


# Bounds what one odd file can make us keep and print.
_MAX_UNKNOWN_COLUMNS = 20


def _note_unknown(fields: Mapping[str, Any], unknown: set[str]) -> None:
    if len(unknown) < _MAX_UNKNOWN_COLUMNS:
        unknown.update(str(name)[:64] for name in fields.keys() - KNOWN_COLUMNS)


def read_locations_file(
    path: Path, *, unknown_columns: set[str] | None = None
) -> Iterator[ScheduledLocation]:
    """Each location of ``path`` in order; ``LocationsFileError`` on the first bad one."""
    label = file_label(path)
    for raw in location_rows(path, label=label, unknown_columns=unknown_columns):
        yield _parse(label, raw)


def location_rows(
    path: Path, *, label: str, unknown_columns: set[str] | None = None
) -> Iterator[_Raw]:
    """The raw rows of a locations file, each with where it stands (``line 7``, ``item 3``).

    ``label`` names the file in messages. Columns outside ``KNOWN_COLUMNS`` are added to
    ``unknown_columns``. An id seen twice, or no row at all, is a ``LocationsFileError``.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json", ".jsonl"):
        raise LocationsFileError(f"{label}: must end in .csv, .json or .jsonl")
    unknown = unknown_columns if unknown_columns is not None else set()
    # id -> where it first stood; the ids of one file fit in memory as the outbox holds them too.
    first_seen: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            if suffix == ".csv":
                rows: Iterator[_Raw] = _csv_rows(label, handle, unknown)
            elif suffix == ".jsonl":
                rows = _jsonl_rows(label, handle, unknown)
            else:
                rows = _json_rows(label, handle.read(), unknown)
            for raw in rows:
                location_id = raw.fields.get("id")
                if isinstance(location_id, str):
                    earlier = first_seen.setdefault(location_id, raw.where)
                    if earlier != raw.where:
                        raise LocationsFileError(
                            f"{label}: {raw.where}: id {clip(location_id, 80)!r} is given twice "
                            f"(first at {earlier}); keep one of the two"
                        )
                yield raw
    except OSError as exc:
        raise LocationsFileError(f"{label}: cannot read: {exc}") from None
    except UnicodeDecodeError as exc:
        raise LocationsFileError(f"{label}: not UTF-8 text: {exc}") from None
    if not first_seen:
        raise LocationsFileError(f"{label}: holds no locations")


async def file_location_chunks(
    path: Path, *, chunk_size: int
) -> AsyncIterator[list[ScheduledLocation]]:
    """The file's locations in chunks, once every row of it has parsed: a bad row anywhere is an
    error before the first chunk is queued (and so published), not after. Two streaming passes;
    memory stays flat."""
    unknown: set[str] = set()
    for _location in read_locations_file(path, unknown_columns=unknown):
        pass
    if unknown:
        log.warning(
            "locations_file_unknown_columns",
            file=str(path),
            columns=sorted(unknown),
            hint=f"ignored; the known columns are {', '.join(sorted(KNOWN_COLUMNS))}",
        )
    chunk: list[ScheduledLocation] = []
    for location in read_locations_file(path):
        chunk.append(location)
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def service_location_chunks(
    client: WeatherServiceClient, *, chunk_size: int
) -> AsyncIterator[list[ScheduledLocation]]:
    async for page in client.location_pages(page_size=min(chunk_size, 1000)):
        yield [ScheduledLocation.model_validate(item) for item in page]
