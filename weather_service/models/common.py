"""Constrained field types shared by every request body and query parameter.

Inputs are validated before anything touches the database: identifiers follow one pattern, text
is bounded and free of control characters (PostgreSQL refuses NUL bytes), numbers are finite and
within physical ranges, and every timestamp carries a timezone and lies between 1900 and 2200.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WrapValidator,
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


ISO_MESSAGE = "must be an ISO 8601 date-time with a timezone, e.g. 2026-11-22T10:00:00Z"
PARSED_TIMES_MAX = 4096  # texts remembered per time type (a batch shares its hours and fetched_at)


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


class _ParsedTimes:
    """A wrap validator around pydantic's ``AwareDatetime``: ISO 8601 text only (numbers would
    otherwise be taken as Unix time), then ``check`` (to UTC, range, ...), remembered per text.

    The hot path is ``PUT /v1/weather``: its records repeat a few dozen hour texts and one
    ``fetched_at`` per location, and parsing each one again (two Python validators around the
    parse) was a third of the request's validation. A remembered text skips all of it. With
    ``not_in_future``, a time more than ``MAX_CLOCK_SKEW_S`` ahead of this server's clock is
    refused, every time (a remembered result cannot answer that), compared as Unix seconds:
    building an aware "now" per record was 7% of the weather service's CPU in the pipeline.
    """

    def __init__(
        self, check: Callable[[datetime], datetime], *, not_in_future: bool = False
    ) -> None:
        self._check = check
        self._not_in_future = not_in_future
        self._known: dict[str, tuple[datetime, float]] = {}  # text -> (UTC, Unix seconds)

    def __call__(self, value: object, handler: ValidatorFunctionWrapHandler) -> datetime:
        if isinstance(value, str):
            known = self._known.get(value)
            if known is None:
                if not ISO_DATETIME_START.match(value):
                    raise ValueError(ISO_MESSAGE)
                utc = self._check(handler(value))
                known = (utc, utc.timestamp())
                if len(self._known) >= PARSED_TIMES_MAX:
                    self._known.clear()
                self._known[value] = known
        elif isinstance(value, datetime):  # Python callers
            utc = self._check(handler(value))
            known = (utc, utc.timestamp())
        else:
            raise ValueError(ISO_MESSAGE)
        if self._not_in_future and known[1] > time.time() + MAX_CLOCK_SKEW_S:
            raise ValueError(f"must not be more than {MAX_CLOCK_SKEW_S:.0f} s in the future")
        return known[0]


UtcTime = Annotated[AwareDatetime, WrapValidator(_ParsedTimes(_to_utc))]
UtcHour = Annotated[AwareDatetime, WrapValidator(_ParsedTimes(_to_utc_hour))]
PastUtcTime = Annotated[AwareDatetime, WrapValidator(_ParsedTimes(_to_utc, not_in_future=True))]


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
