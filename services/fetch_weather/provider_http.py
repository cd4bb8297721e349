"""One GET to a weather provider, its answer translated into the source error taxonomy.

Both clients ask the same way and read answers the same way; only their error classes, the words
of their error bodies and which answers mean "our key is refused" differ, which the caller passes
in (``ProviderErrors``). A 200 must be a JSON object; 401/403 (and whatever ``is_auth`` adds) are
``auth``; 429 is ``rate_limited``, waiting ``Retry-After`` when given, else ``retry_after_429_s``;
5xx, timeouts, dropped connections and malformed answers are ``unavailable``; any other status is
``rejected``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.fetch_weather.errors import (
    DEFAULT_429_RETRY_AFTER_S,
    SourceAuthError,
    SourceRateLimited,
    SourceRequestRejected,
    SourceUnavailable,
    retry_after_s,
)
from services.http_transport import HttpAnswer, HttpTimeout, HttpTransport, HttpTransportError


def _never(status: int, message: str) -> bool:
    return False


@dataclass(frozen=True)
class ProviderErrors:
    """``message_of`` reads an error answer's body; ``key_hint`` names the setting to check when
    our key is refused; ``is_auth`` says which other answers refuse the key."""

    auth: type[SourceAuthError]
    rejected: type[SourceRequestRejected]
    rate_limited: type[SourceRateLimited]
    unavailable: type[SourceUnavailable]
    message_of: Callable[[HttpAnswer], str]
    key_hint: str
    is_auth: Callable[[int, str], bool] = field(default=_never)


async def get_json(
    http: HttpTransport,
    url: str,
    path: str,
    params: Mapping[str, Any],
    *,
    timeout_s: float,
    errors: ProviderErrors,
    retry_after_429_s: float = DEFAULT_429_RETRY_AFTER_S,
) -> dict[str, Any]:
    """The JSON object the provider answered at ``url`` (``path`` names it in messages)."""
    try:
        response = await http.request("GET", url, params=params, timeout_s=timeout_s)
    except HttpTimeout as exc:
        raise errors.unavailable(f"{path}: timed out after {timeout_s} s") from exc
    except HttpTransportError as exc:
        raise errors.unavailable(f"{path}: {exc}") from exc
    status = response.status
    if status == 200:
        try:
            body = response.json()
        except ValueError as exc:
            raise errors.unavailable(f"{path}: answer is not valid JSON ({exc})") from None
        if not isinstance(body, dict):
            raise errors.unavailable(f"{path}: answer is not a JSON object")
        return body
    said = errors.message_of(response)
    message = f"{path}: HTTP {status}: {said}"
    if status in (401, 403) or errors.is_auth(status, said):
        raise errors.auth(f"{message} (check {errors.key_hint})")
    said_s = retry_after_s(response.headers.get("Retry-After"))
    if status == 429:
        raise errors.rate_limited(
            message,
            retry_after_s=retry_after_429_s if said_s is None else said_s,
            from_header=said_s is not None,
        )
    if status >= 500:
        raise errors.unavailable(message, retry_after_s=said_s or None)
    raise errors.rejected(message)
