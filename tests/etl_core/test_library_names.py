"""etl_core is a Redis Streams library any pipeline could use: no file of it (code, comments,
docstrings, Lua scripts) names a stream, a consumer group, a provider or the application. The
application's names live in services/ (services/pipeline_keys.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import pipeline_keys

ETL_CORE = Path(__file__).resolve().parents[2] / "etl_core"
SUFFIXES = (".py", ".lua")

# Case-insensitive. ``owm`` not inside a word (``OwmGate``, ``owm-calls``, ``_owm``), ``trail``
# but not ``trailing``; the rest anywhere.
WORDS = (
    r"(?<![a-z])owm",
    r"openweather",
    r"open-?meteo",
    r"trail(?!ing)",
    r"weather",
    r"categoriz",
    r"ingestion",
    r"fetch-weather",
)


def pipeline_names() -> set[str]:
    """Every string the application's key module defines: streams, groups, limiter, breakers."""
    names: set[str] = set()
    for attr, value in vars(pipeline_keys).items():
        if not attr.isupper():
            continue
        if isinstance(value, str):
            names.add(value)
        elif isinstance(value, tuple):
            names.update(value)
        elif isinstance(value, dict):
            names.update(value)
            names.update(value.values())
    return names


def forbidden() -> re.Pattern[str]:
    """The words, and each pipeline name where it is not part of a longer word."""
    names = sorted(pipeline_names(), key=len, reverse=True)
    whole = [rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])" for name in names]
    return re.compile("|".join([*WORDS, *whole]), re.IGNORECASE)


def library_files() -> list[Path]:
    return sorted(
        p for p in ETL_CORE.rglob("*") if p.suffix in SUFFIXES and "__pycache__" not in p.parts
    )


def hits(path: Path, pattern: re.Pattern[str]) -> Iterator[str]:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for match in pattern.finditer(line):
            yield f"{path.relative_to(ETL_CORE.parent)}:{n}: {match.group()!r} in {line.strip()!r}"


def test_the_pipeline_names_are_known() -> None:
    names = pipeline_names()
    assert {
        pipeline_keys.INGESTION_STREAM,
        pipeline_keys.CATEGORIZATION_STREAM_BASE,
        pipeline_keys.FETCH_GROUP,
        pipeline_keys.CATEGORIZE_GROUP,
        pipeline_keys.OWM_RATE_LIMITER,
        pipeline_keys.WEATHER_SERVICE_BREAKER,
    } <= names


@pytest.mark.parametrize(
    "text",
    [
        "an OwmGate",
        "a decoded OWM answer",
        "OpenWeatherMap",
        "Open-Meteo",
        "trail-etl status",
        "trail_etl_worker_",
        "the weather service",
        "CategorizeTask",
        "categorization",
        "INGESTION_STREAM",
        "group fetch-weather",
        "categorize-trail-conditions",
        "owm-ingestion-stream:{p0}",
        "limiter 'owm'",
    ],
)
def test_the_check_finds_a_name(text: str) -> None:
    assert forbidden().search(text), text


@pytest.mark.parametrize("text", ["trailing whitespace", "slowmo", "a stream", "fetchone()"])
def test_the_check_lets_generic_words_be(text: str) -> None:
    assert not forbidden().search(text), text


def test_no_file_of_etl_core_names_the_application() -> None:
    files = library_files()
    assert any(p.suffix == ".lua" for p in files) and any(p.suffix == ".py" for p in files)
    pattern = forbidden()
    found = [hit for path in files for hit in hits(path, pattern)]
    assert not found, "etl_core names the application:\n" + "\n".join(found)
