"""Error responses: validation errors name the field and never echo the input back; database
trouble becomes 503 (retry later) or 409, never a bare 500."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from etl_core.logging import get_logger

RETRY_AFTER_S = 5
MAX_REPORTED_ERRORS = 50

log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run


def _database_message(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc))[:300]


def _clean_loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def validation_detail(errors: Any) -> list[dict[str, Any]]:
    """pydantic errors as ``{loc, msg, type}``: the input (possibly NaN, huge or a secret) and
    the context objects are left out, which also keeps the response valid JSON."""
    return [
        {
            "loc": _clean_loc(err.get("loc", ())),
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in list(errors)[:MAX_REPORTED_ERRORS]
    ]


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
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(sa_exc.OperationalError, _on_database_unavailable)
    app.add_exception_handler(sa_exc.InterfaceError, _on_database_unavailable)
    app.add_exception_handler(sa_exc.TimeoutError, _on_database_unavailable)
    app.add_exception_handler(sa_exc.IntegrityError, _on_integrity_error)
    app.add_exception_handler(sa_exc.DataError, _on_data_error)
