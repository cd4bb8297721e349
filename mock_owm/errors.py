"""OpenWeatherMap's error answers: ``{"cod": <int>, "message": "...", "parameters": [...]}``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import to_json

INVALID_KEY_MESSAGE = (
    "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."
)
RATE_LIMITED_MESSAGE = (
    "Your account is temporary blocked due to exceeding of requests limitation of your "
    "subscription type. Please choose the proper subscription http://openweathermap.org/price"
)
NOT_FOUND_MESSAGE = "Internal error: the requested resource was not found"
BAD_BODY_MESSAGE = "the body must be a JSON object"
SERVER_ERROR_MESSAGES = {
    500: "Internal error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}


def error_body(status: int, message: str, parameters: list[str] | None = None) -> bytes:
    body: dict[str, object] = {"cod": status, "message": message}
    if parameters:
        body["parameters"] = parameters
    return to_json(body)


class OwmError(Exception):
    """An answer other than 200, raised while handling a request and sent as OWM would."""

    def __init__(self, status: int, message: str, parameters: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = parameters

    @property
    def body(self) -> bytes:
        return error_body(self.status, self.message, self.parameters)


INVALID_KEY_BODY = error_body(401, INVALID_KEY_MESSAGE)
RATE_LIMITED_BODY = error_body(429, RATE_LIMITED_MESSAGE)
NOT_FOUND_BODY = error_body(404, NOT_FOUND_MESSAGE)


# A bad body's field names come from the client: name at most this many, each cut to this length.
MAX_NAMED_FIELDS = 10
MAX_FIELD_NAME_CHARS = 64


def invalid_fields(errors: Sequence[Mapping[str, Any]], *, skip: int = 0) -> OwmError:
    """A 422 from pydantic's ``errors`` naming each bad field and the rule it breaks, never the
    value given; ``skip`` drops leading ``loc`` parts (FastAPI's ``"body"``)."""
    parameters: list[str] = []
    messages: list[str] = []
    for error in errors[:MAX_NAMED_FIELDS]:
        field = ".".join(str(part) for part in error["loc"][skip:])[:MAX_FIELD_NAME_CHARS]
        if field and field not in parameters:
            parameters.append(field)
        messages.append(f"{field}: {error['msg']}" if field else str(error["msg"]))
    return OwmError(422, "; ".join(dict.fromkeys(messages)) or "invalid body", parameters)
