"""What every API request goes through before and after the weather is built.

Order, as the real service appears to work: count the request; check the key (401); check the
quotas (429, counted in the per-key 60 s windows either way); draw an injected fault; wait the
configured latency; then hang (timeout), answer 429 or 5xx, or build the answer, which a
``malformed`` fault truncates. Parameter errors (400) come from building the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive

from etl_core.logging import get_logger
from mock_owm.errors import (
    INVALID_KEY_BODY,
    RATE_LIMITED_BODY,
    SERVER_ERROR_MESSAGES,
    OwmError,
    error_body,
)
from mock_owm.faults import Fault
from mock_owm.runtime import RuntimeConfig
from mock_owm.service import MockOwm
from mock_owm.stats import INVALID_KEY, MISSING_KEY

JSON = "application/json; charset=utf-8"
log = get_logger(__name__, component="mock_owm")
Build = Callable[[Mapping[str, str], RuntimeConfig], bytes]


async def hang(timeout_s: float, receive: Receive) -> None:
    """Wait ``timeout_s``, or less if the client hangs up first (nobody is left to answer)."""

    async def client_left() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(client_left())
    try:
        await asyncio.wait({watcher}, timeout=timeout_s)
    finally:
        watcher.cancel()


def _reply(mock: MockOwm, status: int, body: bytes,
           headers: Mapping[str, str] | None = None) -> Response:
    mock.stats.status(status)
    return Response(content=body, status_code=status, media_type=JSON, headers=headers)


def _too_many(mock: MockOwm, cfg: RuntimeConfig) -> Response:
    headers = None if cfg.retry_after_s is None else {"Retry-After": str(cfg.retry_after_s)}
    return _reply(mock, 429, RATE_LIMITED_BODY, headers)


async def guarded(mock: MockOwm, endpoint: str, query: Mapping[str, str], build: Build,
                  receive: Receive) -> Response:
    """Answer one API request; ``receive`` is the ASGI channel (to notice a client hanging up)."""
    cfg = mock.config
    key = query.get("appid") or query.get("APPID")
    if key is None or key not in cfg.api_keys:
        mock.stats.request(endpoint, MISSING_KEY if key is None else INVALID_KEY)
        return _reply(mock, 401, INVALID_KEY_BODY)
    mock.stats.request(endpoint, key)

    mono_s = mock.monotonic()
    refused_by = mock.limiter.check(key, mono_s=mono_s, wall_s=mock.wall_clock(),
                                    per_minute=cfg.rate_limit_per_minute,
                                    per_day=cfg.rate_limit_per_day,
                                    window_s=cfg.rate_limit_window_s)
    mock.stats.quota_checked(key, mono_s, refused_by)
    if refused_by is not None:
        return _too_many(mock, cfg)

    fault = mock.faults.draw(cfg)
    if fault is not None:
        mock.stats.fault(fault)
    if cfg.latency_ms > 0:
        await asyncio.sleep(cfg.latency_ms / 1000.0)
    if fault is Fault.TIMEOUT:
        await hang(cfg.timeout_s, receive)
        return _reply(mock, 504, error_body(504, SERVER_ERROR_MESSAGES[504]))
    if fault is Fault.TOO_MANY_REQUESTS:
        return _too_many(mock, cfg)
    if fault is Fault.SERVER_ERROR:
        code = mock.faults.server_error_code()
        return _reply(mock, code, error_body(code, SERVER_ERROR_MESSAGES[code]))

    try:
        body = build(query, cfg)
    except OwmError as exc:
        return _reply(mock, exc.status, exc.body)
    except Exception:  # a bug in the mock: answer like the real service would, and say so
        log.exception("mock_owm.build_failed", endpoint=endpoint, query=dict(query))
        return _reply(mock, 500, error_body(500, SERVER_ERROR_MESSAGES[500]))
    if fault is Fault.MALFORMED:
        body = mock.faults.truncate(body)
    return _reply(mock, 200, body)
