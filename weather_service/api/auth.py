"""API keys: every write needs ``X-API-Key``; reads too when ``WEATHER_SERVICE_READ_AUTH=true``.

Both sides are trimmed by one rule (``trim_api_key``: spaces, tabs, CR and LF at either end) and
then compared as the bytes of the key: a configured key as UTF-8, a presented one as the header's
own bytes (Starlette decodes headers as Latin-1, which gives them back unchanged), so a non-ASCII
key matches itself. The comparison is of SHA-256 digests with ``hmac.compare_digest`` against
every configured key (no early exit), so the time taken says nothing about which key, how much of
one, or how long a key matched.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from weather_service.settings import trim_api_key

API_KEY_HEADER = "X-API-Key"

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="One of the keys in WEATHER_SERVICE_API_KEYS.",
)


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def _configured_bytes(key: str) -> bytes:
    return trim_api_key(key).encode("utf-8", "surrogateescape")


def _presented_bytes(key: str) -> bytes:
    """The header value as sent. A ``str`` that is not Latin-1 cannot have come from a header
    (a Python caller's): UTF-8 then, as configured keys are."""
    trimmed = trim_api_key(key)
    try:
        return trimmed.encode("latin-1")
    except UnicodeEncodeError:
        return trimmed.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class ApiKeys:
    digests: tuple[bytes, ...]
    anonymous_writes: bool = False
    read_auth: bool = False

    @classmethod
    def of(cls, keys: tuple[str, ...], *, anonymous_writes: bool, read_auth: bool) -> ApiKeys:
        return cls(tuple(_digest(_configured_bytes(k)) for k in keys), anonymous_writes, read_auth)

    def matches(self, presented: str | None) -> bool:
        raw = _presented_bytes(presented or "")
        if not raw:
            return False
        candidate = _digest(raw)
        found = False
        for digest in self.digests:
            found |= hmac.compare_digest(candidate, digest)
        return found


def _unauthorized() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=f"missing or invalid API key (send it in the {API_KEY_HEADER} header)",
        headers={"WWW-Authenticate": "ApiKey"},
    )


def require_write_key(request: Request, key: str | None = Security(api_key_header)) -> None:
    keys: ApiKeys = request.app.state.api_keys
    if keys.anonymous_writes and not keys.digests:
        return
    if not keys.matches(key):
        raise _unauthorized()


def require_read_key(request: Request, key: str | None = Security(api_key_header)) -> None:
    keys: ApiKeys = request.app.state.api_keys
    if keys.read_auth and not keys.matches(key):
        raise _unauthorized()
