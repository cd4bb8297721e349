"""Constrained field types shared by every request body and query parameter.

Inputs are validated before anything touches the database: identifiers follow one pattern, text
is bounded and free of control characters (PostgreSQL refuses NUL bytes), numbers are finite and
within physical ranges, and every timestamp carries a timezone and lies between 1900 and 2200.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
COUNT_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
MESSAGE_PATTERN = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW_S = 300.0
MAX_SAFE_INT = 2**53 - 1
ISO_DATETIME_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")

ResourceId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=ID_PATTERN),
    Field(description="Letters, digits and . _ : - ; starts with a letter or digit; at most 100."),
]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=LINE_PATTERN)]
Message = Annotated[str, StringConstraints(max_length=2000, pattern=MESSAGE_PATTERN)]
CountName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=COUNT_NAME_PATTERN)
]


def _iso_text_only(value: object) -> object:
    """Take ISO 8601 text (or a datetime from Python callers), not numbers taken as Unix time."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and ISO_DATETIME_START.match(value):
        return value
    raise ValueError("must be an ISO 8601 date-time with a timezone, e.g. 2026-11-22T10:00:00Z")


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp is out of range") from None
    if not EARLIEST_TIME <= utc < LATEST_TIME:
        raise ValueError("timestamp must lie between 1900-01-01 and 2200-01-01 UTC")
    return utc


def _to_utc_hour(value: datetime) -> datetime:
    utc = _to_utc(value)
    if utc.minute or utc.second or utc.microsecond:
        raise ValueError("must be the start of a UTC hour (minutes, seconds and fraction zero)")
    return utc


def _to_past_utc(value: datetime) -> datetime:
    """Refuse a timestamp ahead of this server's clock by more than the allowed skew."""
    utc = _to_utc(value)
    if utc > datetime.now(UTC) + timedelta(seconds=MAX_CLOCK_SKEW_S):
        raise ValueError(f"must not be more than {MAX_CLOCK_SKEW_S:.0f} s in the future")
    return utc


UtcTime = Annotated[AwareDatetime, BeforeValidator(_iso_text_only), AfterValidator(_to_utc)]
UtcHour = Annotated[AwareDatetime, BeforeValidator(_iso_text_only), AfterValidator(_to_utc_hour)]
PastUtcTime = Annotated[
    AwareDatetime, BeforeValidator(_iso_text_only), AfterValidator(_to_past_utc)
]


StrictFloat = Annotated[float, Strict()]
StrictInt = Annotated[int, Strict()]
Fraction = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_SAFE_INT)]


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error, numbers must be finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` back as ``?cursor=`` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(description="Opaque; null on the last page.", examples=[None])


class UpsertResult(BaseModel):
    received: int = Field(description="Items in the request.")
    written: int = Field(
        description="Rows inserted or changed; items that lost to a stored row are not counted."
    )


class ErrorOut(BaseModel):
    detail: str
