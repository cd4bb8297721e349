"""The Open-Meteo client: its query, and each error answer in the common taxonomy."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from etl_core.errors import PermanentError, RateLimited, StageBlocked, TransientError
from services.fetch_weather.open_meteo.client import (
    OpenMeteoAuthError,
    OpenMeteoClient,
    OpenMeteoClientOptions,
    OpenMeteoRateLimited,
    OpenMeteoRequestRejected,
    OpenMeteoUnavailable,
)

BASE = "http://open-meteo.test"
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, api_key: str | None = None) -> OpenMeteoClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OpenMeteoClient(http, OpenMeteoClientOptions(base_url=BASE + "/", api_key=api_key))


def answering(status: int, body: object, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, json=body, headers=headers)


async def test_the_query_asks_for_si_units_unix_times_and_local_days() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"hourly": {}})

    await client(handler).forecast(46.5, 7.25, past_days=3, forecast_days=3)
    (request,) = seen
    assert request.url.path == "/v1/forecast"
    q = request.url.params
    assert (q["latitude"], q["longitude"], q["past_days"], q["forecast_days"]) == (
        "46.5",
        "7.25",
        "3",
        "3",
    )
    assert (q["timezone"], q["timeformat"], q["wind_speed_unit"]) == ("auto", "unixtime", "ms")
    assert "apikey" not in q  # keyless: the free API


async def test_a_key_is_sent_when_configured() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    await client(handler, api_key="k-123").forecast(1.0, 2.0, past_days=0, forecast_days=1)
    assert seen[0].url.params["apikey"] == "k-123"


@pytest.mark.parametrize(
    ("status", "body", "error", "family"),
    [
        (
            400,
            {
                "error": True,
                "reason": "Cannot initialize WeatherVariable from invalid String "
                "value tempeture_2m for key hourly",
            },
            OpenMeteoRequestRejected,
            PermanentError,
        ),
        (
            400,
            {"error": True, "reason": "Latitude must be in range of -90 to 90°. Given: 91.0."},
            OpenMeteoRequestRejected,
            PermanentError,
        ),
        (
            400,
            {"error": True, "reason": "The supplied API key is invalid."},
            OpenMeteoAuthError,
            StageBlocked,
        ),
        (401, {"error": True, "reason": "API key required"}, OpenMeteoAuthError, StageBlocked),
        (
            429,
            {
                "error": True,
                "reason": "Daily API request limit exceeded. Please try again tomorrow.",
            },
            OpenMeteoRateLimited,
            RateLimited,
        ),
        (502, {"error": True, "reason": "Bad gateway"}, OpenMeteoUnavailable, TransientError),
    ],
)
async def test_each_error_answer_is_its_family_and_keeps_the_reason(
    status: int, body: dict[str, object], error: type[Exception], family: type[Exception]
) -> None:
    with pytest.raises(error) as raised:
        await client(answering(status, body)).forecast(1.0, 2.0, past_days=0, forecast_days=1)
    assert isinstance(raised.value, family)
    assert str(body["reason"])[:40] in str(raised.value)
    assert f"HTTP {status}" in str(raised.value)


async def test_a_429_honours_retry_after_and_otherwise_waits_the_default() -> None:
    body = {"error": True, "reason": "Minutely API request limit exceeded."}
    with pytest.raises(OpenMeteoRateLimited) as said:
        await client(answering(429, body, {"Retry-After": "12"})).forecast(
            1.0, 2.0, past_days=0, forecast_days=1
        )
    assert (said.value.retry_after_s, said.value.from_header) == (12.0, True)
    with pytest.raises(OpenMeteoRateLimited) as unsaid:
        await client(answering(429, body)).forecast(1.0, 2.0, past_days=0, forecast_days=1)
    assert unsaid.value.from_header is False


@pytest.mark.parametrize("body", [b"<html>busy</html>", b"[1, 2]", b'{"hourly": '])
async def test_a_200_that_is_not_a_json_object_is_transient(body: bytes) -> None:
    with pytest.raises(OpenMeteoUnavailable):
        await client(lambda r: httpx.Response(200, content=body)).forecast(
            1.0, 2.0, past_days=0, forecast_days=1
        )


async def test_no_answer_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(OpenMeteoUnavailable, match="refused"):
        await client(refuse).forecast(1.0, 2.0, past_days=0, forecast_days=1)
