"""Locations to schedule, read in chunks from a CSV/JSON file or from the weather service.

A file holds objects with at least ``id``, ``lat`` and ``lon`` (other columns are ignored):

* ``.csv``: a header line naming the columns, then one location per line (streamed);
* ``.jsonl``: one JSON object per line (streamed);
* ``.json``: one array of objects (read whole: prefer ``.jsonl`` for very large sets).

A bad entry raises ``LocationsFileError`` naming the file, the line (or array index) and the field.
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
from services.weather_client import WeatherServiceClient
from weather_service.models.common import ResourceId


class LocationsFileError(ConfigurationError):
    """The LOCATIONS_FILE cannot be read or holds an invalid location."""


class ScheduledLocation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: ResourceId  # the weather service's id rule, which the workers hold task ids to
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)


@dataclass(frozen=True, slots=True)
class _Raw:
    where: str  # "line 7" or "item 3"
    fields: Mapping[str, Any]


def _parse(path: Path, raw: _Raw) -> ScheduledLocation:
    try:
        return ScheduledLocation.model_validate(raw.fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "entry"
        raise LocationsFileError(
            f"LOCATIONS_FILE {path}: {raw.where}: field {field!r}: {err['msg']}"
        ) from None


def _csv_rows(path: Path, handle: Iterable[str]) -> Iterator[_Raw]:
    reader = csv.DictReader(handle)
    missing = {"id", "lat", "lon"} - set(reader.fieldnames or ())
    if missing:
        raise LocationsFileError(
            f"LOCATIONS_FILE {path}: line 1: header lacks column(s) {', '.join(sorted(missing))}"
        )
    for row in reader:
        yield _Raw(where=f"line {reader.line_num}", fields=row)


def _jsonl_rows(path: Path, handle: Iterable[str]) -> Iterator[_Raw]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LocationsFileError(f"LOCATIONS_FILE {path}: line {number}: {exc.msg}") from None
        if not isinstance(value, dict):
            raise LocationsFileError(f"LOCATIONS_FILE {path}: line {number}: not a JSON object")
        yield _Raw(where=f"line {number}", fields=value)


def _json_rows(path: Path, text: str) -> Iterator[_Raw]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LocationsFileError(
            f"LOCATIONS_FILE {path}: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(value, list):
        raise LocationsFileError(f"LOCATIONS_FILE {path}: must hold a JSON array of locations")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise LocationsFileError(f"LOCATIONS_FILE {path}: item {index}: not a JSON object")
        yield _Raw(where=f"item {index}", fields=item)


def read_locations_file(path: Path) -> Iterator[ScheduledLocation]:
    """Each location of ``path`` in order; ``LocationsFileError`` on the first bad one."""
    for raw in location_rows(path):
        yield _parse(path, raw)


def location_rows(path: Path) -> Iterator[_Raw]:
    """The raw rows of a locations file, each with where it stands (``line 7``, ``item 3``)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json", ".jsonl"):
        raise LocationsFileError(f"LOCATIONS_FILE {path}: must end in .csv, .json or .jsonl")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if suffix == ".csv":
                rows: Iterator[_Raw] = _csv_rows(path, handle)
            elif suffix == ".jsonl":
                rows = _jsonl_rows(path, handle)
            else:
                rows = _json_rows(path, handle.read())
            yield from rows
    except OSError as exc:
        raise LocationsFileError(f"LOCATIONS_FILE {path}: cannot read: {exc}") from None
    except UnicodeDecodeError as exc:
        raise LocationsFileError(f"LOCATIONS_FILE {path}: not UTF-8 text: {exc}") from None


async def file_location_chunks(
    path: Path, *, chunk_size: int
) -> AsyncIterator[list[ScheduledLocation]]:
    """The file's locations in chunks, once every row of it has parsed: a bad row anywhere is an
    error before the first chunk is queued (and so published), not after. Two streaming passes;
    memory stays flat."""
    for _location in read_locations_file(path):
        pass
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
