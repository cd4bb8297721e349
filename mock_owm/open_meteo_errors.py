"""Open-Meteo's error answers: ``{"error": true, "reason": "..."}``, for every status.

The reasons are Open-Meteo's own wording where it has one (its server's error texts), so that a
client matching on them (which limit was hit, say) behaves as it would against the real API.
"""

from __future__ import annotations

from http import HTTPStatus

from pydantic_core import to_json

from mock_owm.open_meteo_quota import PER_DAY, PER_HOUR, PER_MINUTE

RATE_LIMITED_REASONS = {
    PER_MINUTE: "Minutely API request limit exceeded. Please try again in one minute.",
    PER_HOUR: "Hourly API request limit exceeded. Please try again in the next hour.",
    PER_DAY: "Daily API request limit exceeded. Please try again tomorrow.",
}
# The 429 the real server gives a client with too many requests in flight; injected 429s use it,
# as they are not a quota running out.
TOO_MANY_CONCURRENT_REASON = "Too many concurrent requests"
INVALID_KEY_REASON = "The supplied API key is invalid."
TOO_MUCH_DATA_REASON = (
    "Your API call requests too much data. Please reduce the number of variables, locations "
    "and/or weather models."
)
# A value from the client is quoted in a reason cut to this length.
MAX_QUOTED_CHARS = 64


def error_body(reason: str) -> bytes:
    return to_json({"error": True, "reason": reason})


def status_reason(status: int) -> str:
    """The reason of an error that has no text of its own (the HTTP phrase, as Vapor gives)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def quoted(value: str) -> str:
    return value if len(value) <= MAX_QUOTED_CHARS else value[:MAX_QUOTED_CHARS] + "..."


class OpenMeteoError(Exception):
    """An answer other than 200 to a /v1/forecast request."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    @property
    def body(self) -> bytes:
        return error_body(self.reason)
