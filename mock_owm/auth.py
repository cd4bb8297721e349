"""The control endpoints' credential: ``Authorization: Bearer <MOCK_OWM_ADMIN_TOKEN>``.

The API endpoints take OpenWeatherMap's ``appid``; the control endpoints (``/__faults``,
``/__stats``, ``/__warm``) can replace those keys and read them, so they take their own token,
compared in constant time. ``/__health`` stays open for probes.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

ADMIN_TOKEN_MIN_CHARS = 16
ADMIN_TOKEN_MAX_CHARS = 256
GENERATED_TOKEN_BYTES = 32
ADMIN_REFUSED_MESSAGE = "Invalid admin token: send Authorization: Bearer <MOCK_OWM_ADMIN_TOKEN>"

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="MOCK_OWM_ADMIN_TOKEN (generated and logged at start when unset)",
)


def check_admin_token(token: str) -> None:
    """The rule a configured token must meet; raises ``ValueError`` (never showing the token)."""
    if not ADMIN_TOKEN_MIN_CHARS <= len(token) <= ADMIN_TOKEN_MAX_CHARS:
        raise ValueError(f"must be {ADMIN_TOKEN_MIN_CHARS} to {ADMIN_TOKEN_MAX_CHARS} characters")
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise ValueError("must be printable ASCII without spaces")


def generate_admin_token() -> str:
    return secrets.token_urlsafe(GENERATED_TOKEN_BYTES)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def admin_guard(token: str) -> Callable[[Credentials], Awaitable[None]]:
    """A FastAPI dependency refusing (401, OWM's error body) a request without ``token``."""
    expected = token.encode()

    async def require_admin(credentials: Credentials) -> None:
        given = credentials.credentials.encode() if credentials is not None else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(401, ADMIN_REFUSED_MESSAGE, headers={"WWW-Authenticate": "Bearer"})

    return require_admin


def admin_headers(token: str) -> dict[str, str]:
    """What a client of the control endpoints sends."""
    return {"Authorization": f"Bearer {token}"}
