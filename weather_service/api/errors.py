"""Error responses: validation errors name the field and the rule and never echo the input back;
a 405 lists every method of the path; database trouble becomes 503 (retry later) or 409, never a
bare 500."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Route

from etl_core.logging import get_logger

RETRY_AFTER_S = 5
MAX_REPORTED_ERRORS = 50
# A ``loc`` part is a field name, a pydantic union member ("float", "constrained-str") or "[key]",
# except where the client chose it: an unknown field's name, a key of ``counts``. Such a part is
# shown only when it looks like a name; anything else (markup, quotes, a pasted secret with a
# space, a megabyte) is replaced, so the answer carries nothing the client did not mean as a name.
SAFE_LOC_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}|\[key\]")
REPLACED_LOC_PART = "<redacted>"
# pydantic messages name the rule ("String should match pattern ..."); the few that quote the
# input are replaced by this, with the error type still naming the rule.
GENERIC_MESSAGE = "Input is not valid here (see type)"
MIN_ECHO_CHARS = 4
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run


def _database_message(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc))[:300]


def _clean_loc(loc: Any) -> list[str | int]:
    return [
        part
        if isinstance(part, int)
        else (str(part) if SAFE_LOC_PART.fullmatch(str(part)) else REPLACED_LOC_PART)
        for part in loc
    ]


def _clean_message(message: str, given: Any) -> str:
    if isinstance(given, str) and len(given) >= MIN_ECHO_CHARS and given in message:
        return GENERIC_MESSAGE
    return message


def validation_detail(errors: Any) -> list[dict[str, Any]]:
    """pydantic errors as ``{loc, msg, type}``: the input (possibly NaN, huge or a secret) and
    the context objects are left out, which also keeps the response valid JSON; see
    ``SAFE_LOC_PART`` and ``GENERIC_MESSAGE`` for the parts that could still carry it."""
    return [
        {
            "loc": _clean_loc(err.get("loc", ())),
            "msg": _clean_message(str(err.get("msg", "")), err.get("input")),
            "type": str(err.get("type", "")),
        }
        for err in list(errors)[:MAX_REPORTED_ERRORS]
    ]


@dataclass(frozen=True, slots=True)
class RouteMethods:
    """Which methods each path of the app answers, for the ``Allow`` header of a 405: Starlette's
    own names only the methods of the first route that matched the path, and the service
    declares one route per method. ``HEAD`` goes wherever ``GET`` does (``HeadAsGetMiddleware``).
    Built from the routers the app includes (none has a prefix), as FastAPI keeps included
    routers in structures of its own."""

    routes: tuple[tuple[re.Pattern[str], frozenset[str]], ...]

    @classmethod
    def of(cls, routers: Iterable[APIRouter]) -> RouteMethods:
        return cls(
            tuple(
                (route.path_regex, frozenset(route.methods or ()))
                for router in routers
                for route in router.routes
                if isinstance(route, Route)
            )
        )

    def at(self, path: str) -> list[str]:
        methods = {m for pattern, ms in self.routes if pattern.fullmatch(path) for m in ms}
        if "GET" in methods:
            methods.add("HEAD")
        return [m for m in METHOD_ORDER if m in methods] + sorted(methods - set(METHOD_ORDER))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        table: RouteMethods = request.app.state.route_methods
        headers = {**(exc.headers or {}), "Allow": ", ".join(table.at(request.scope["path"]))}
        exc = StarletteHTTPException(exc.status_code, exc.detail, headers)
    return await http_exception_handler(request, exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": validation_detail(exc.errors())},
    )


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "database_unavailable",
        path=request.url.path,
        error=type(exc).__name__,
        message=_database_message(exc),
    )
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={"detail": "database unavailable; retry later"},
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _on_integrity_error(request: Request, exc: Exception) -> JSONResponse:
    log.warning("write_conflict", path=request.url.path, message=_database_message(exc))
    return JSONResponse(
        status_code=status.HTTP_409_CONFLICT,
        content={"detail": "the write conflicts with stored data (e.g. a location was removed)"},
    )


async def _on_data_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("value_refused_by_database", path=request.url.path, message=_database_message(exc))
    detail = [{"loc": ["body"], "msg": "a value was refused by the database", "type": "db_value"}]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail}
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(sa_exc.OperationalError, _on_database_unavailable)
    app.add_exception_handler(sa_exc.InterfaceError, _on_database_unavailable)
    app.add_exception_handler(sa_exc.TimeoutError, _on_database_unavailable)
    app.add_exception_handler(sa_exc.IntegrityError, _on_integrity_error)
    app.add_exception_handler(sa_exc.DataError, _on_data_error)
