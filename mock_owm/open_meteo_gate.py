"""What every ``/v1/forecast`` request goes through, in Open-Meteo's order and error shapes.

Count the request; check ``apikey`` when one is given (400 if ``open_meteo_api_keys`` is set and
it is not among them); check the client's quotas (429 naming the limit, ``open_meteo_quota``);
draw an injected fault (the OWM endpoints' dice and rates) and wait the configured latency; then
hang (timeout, 504), answer 429 or 5xx, or build the answer (400 for a bad parameter). Only an
answered call is charged its weight, as the real server counts a call once it has its answer; a
``malformed`` fault truncates the body after that.

A client is its ``apikey`` when it sends one, else its address (the free API's rule).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from etl_core.logging import get_logger
from mock_owm.faults import Fault
from mock_owm.gate import hang
from mock_owm.open_meteo_errors import (
    INVALID_KEY_REASON,
    RATE_LIMITED_REASONS,
    TOO_MANY_CONCURRENT_REASON,
    OpenMeteoError,
    error_body,
    status_reason,
)
from mock_owm.runtime import MAX_API_KEY_CHARS, RuntimeConfig
from mock_owm.service import MockOwm

JSON = "application/json; charset=utf-8"
log = get_logger(__name__, component="mock_owm")
# The answer and its weight (open_meteo_quota units).
Build = Callable[[QueryParams, RuntimeConfig], tuple[bytes, int]]


def client_of(request: Request) -> str:
    apikey = request.query_params.get("apikey")
    if apikey:
        return f"apikey:{apikey}"
    return f"ip:{request.client.host if request.client else 'unknown'}"


def key_accepted(apikey: str, cfg: RuntimeConfig) -> bool:
    if len(apikey) > MAX_API_KEY_CHARS or not apikey.isprintable() or " " in apikey:
        return False
    return cfg.open_meteo_api_keys is None or apikey in cfg.open_meteo_api_keys


def _reply(mock: MockOwm, status: int, body: bytes,
           headers: Mapping[str, str] | None = None) -> Response:
    mock.stats.status(status)
    return Response(content=body, status_code=status, media_type=JSON, headers=headers)


def _too_many(mock: MockOwm, cfg: RuntimeConfig, reason: str) -> Response:
    headers = None if cfg.retry_after_s is None else {"Retry-After": str(cfg.retry_after_s)}
    return _reply(mock, 429, error_body(reason), headers)


def _failed(mock: MockOwm, status: int) -> Response:
    return _reply(mock, status, error_body(status_reason(status)))


async def guarded_forecast(mock: MockOwm, endpoint: str, request: Request,
                           build: Build) -> Response:
    cfg = mock.config
    query = request.query_params
    mock.stats.request(endpoint)
    apikey = query.get("apikey")
    if apikey and not key_accepted(apikey, cfg):
        return _reply(mock, 400, error_body(INVALID_KEY_REASON))
    client = client_of(request)

    refused_by = mock.open_meteo_quota.check(
        client, wall_s=mock.wall_clock(), per_minute=cfg.open_meteo_rate_limit_per_minute,
        per_hour=cfg.open_meteo_rate_limit_per_hour, per_day=cfg.open_meteo_rate_limit_per_day,
        window_s=cfg.rate_limit_window_s)
    mock.stats.open_meteo_checked(client, mock.monotonic(), refused_by)
    if refused_by is not None:
        return _too_many(mock, cfg, RATE_LIMITED_REASONS[refused_by])

    fault = mock.faults.draw(cfg)
    if fault is not None:
        mock.stats.fault(fault)
    if cfg.latency_ms > 0:
        await asyncio.sleep(cfg.latency_ms / 1000.0)
    if fault is Fault.TIMEOUT:
        await hang(cfg.timeout_s, request.receive)
        return _failed(mock, 504)
    if fault is Fault.TOO_MANY_REQUESTS:
        return _too_many(mock, cfg, TOO_MANY_CONCURRENT_REASON)
    if fault is Fault.SERVER_ERROR:
        return _failed(mock, mock.faults.server_error_code())

    try:
        body, units = build(query, cfg)
    except OpenMeteoError as exc:
        return _reply(mock, exc.status, exc.body)
    except Exception:  # a bug in the mock: answer like the real service would, and say so
        log.exception("mock_owm.build_failed", endpoint=endpoint, query=dict(query))
        return _failed(mock, 500)
    mock.open_meteo_quota.charge(client, units, wall_s=mock.wall_clock(),
                                 window_s=cfg.rate_limit_window_s)
    mock.stats.open_meteo_charged_call(client, mock.monotonic(), units)
    if fault is Fault.MALFORMED:
        body = mock.faults.truncate(body)
    return _reply(mock, 200, body)
