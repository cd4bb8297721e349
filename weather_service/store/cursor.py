"""Opaque pagination cursors: the sort key of the last item returned, tagged with the listing it
belongs to, base64url-encoded. A cursor from another listing or a mangled one is refused."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime


class CursorError(ValueError):
    """The cursor was not issued by this listing."""


def encode_cursor(listing: str, key: str) -> str:
    raw = json.dumps([listing, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise CursorError("malformed cursor") from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or value[0] != listing
        or not isinstance(value[1], str)
        or "\x00" in value[1]
        or not _encodable(value[1])
    ):
        raise CursorError("cursor does not belong to this listing")
    return value[1]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_time_cursor(listing: str, key: datetime) -> str:
    return encode_cursor(listing, key.astimezone(UTC).isoformat())


def decode_time_cursor(listing: str, cursor: str) -> datetime:
    text = decode_cursor(listing, cursor)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CursorError("malformed cursor") from None
    if value.tzinfo is None:
        raise CursorError("malformed cursor")
    return value.astimezone(UTC)
