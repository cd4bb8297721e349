"""Pure ASGI middleware: request metrics and logs, a bound on request body size, and HEAD."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from etl_core.logging import get_logger
from weather_service.metrics import ServiceMetrics

REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
UNMATCHED_ROUTE = "<unmatched>"

log = get_logger(__name__)  # unbound: stays lazy until configure_logging() has run


def _route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/locations/{location_id}``), never the raw path of an
    API route, so metrics stay low-cardinality."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    if scope.get("endpoint") is not None:  # a plain Starlette route: /openapi.json, /docs
        return str(scope.get("path", UNMATCHED_ROUTE))
    return UNMATCHED_ROUTE


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class ObservabilityMiddleware:
    """Counts and times every request by route template, and logs one line per request with a
    request id (taken from ``X-Request-ID`` or made up, and echoed back)."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = (_header(scope, REQUEST_ID_HEADER) or b"").decode("latin-1")
        request_id = given if REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
        status_code = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                duration_s = time.perf_counter() - started
                route = _route_template(scope)
                method = str(scope.get("method", ""))
                self.metrics.observe_request(
                    method=method, route=route, status=status_code, duration_s=duration_s
                )
                emit = log.debug if route in QUIET_ROUTES and status_code < 500 else log.info
                emit(
                    "http_request",
                    method=method,
                    route=route,
                    status=status_code,
                    duration_ms=round(duration_s * 1000, 2),
                )


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` so FastAPI's body reading turns it into a 413 response."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(status_code=413, detail=f"request body over {max_body_bytes} bytes")


class BodySizeLimitMiddleware:
    """Answer 413 to a request body over ``max_body_bytes``, before it is read into memory."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _reply(send, 400, "Content-Length is not a number")
                return
            if int(declared) > self.max_body_bytes:
                await self._too_large(send)
                return
        seen_bytes = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal seen_bytes
            message = await receive()
            if message["type"] == "http.request":
                seen_bytes += len(message.get("body", b""))
                if seen_bytes > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if response_started:
                raise
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        await _reply(send, 413, f"request body over {self.max_body_bytes} bytes")


async def _reply(send: Send, status_code: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HeadAsGetMiddleware:
    """``HEAD`` on any path that answers ``GET``: the request is routed as a ``GET`` and answered
    with its status and headers (``Content-Length`` included, as RFC 9110 allows) and no body.
    FastAPI's routes answer only the methods they declare; doing it here, once, keeps ``HEAD``
    out of the OpenAPI operations.

    The method is changed in the scope itself, so that the middleware outside this one sees the
    route the router matched, and changed back to ``HEAD`` as the answer starts: the server reads
    it then to know that no body follows the ``Content-Length`` it is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return
        scope["method"] = "GET"

        async def send_without_body(message: Message) -> None:
            scope["method"] = "HEAD"
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(scope, receive, send_without_body)
        finally:
            scope["method"] = "HEAD"
