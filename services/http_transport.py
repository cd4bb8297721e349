"""The HTTP requests our clients make, behind one small interface with two implementations.

* ``AiohttpTransport``: what the workers use. httpx's connection pool polls every idle
  connection's socket on each request, which costs several times aiohttp's client CPU per
  answer, and on a small machine the workers' CPU is the pipeline's limit
  (``bench/http_client_bench.py`` measures both).
* ``HttpxTransport``: wraps an ``httpx.AsyncClient``, so tests can drive an app in process
  (``httpx.ASGITransport``) and callers that already hold an httpx client can pass it.

Both raise only ``HttpTimeout`` or ``HttpConnectionError`` (a ``HttpTransportError``) for a
request that got no answer; every answer, whatever its status, comes back as an ``HttpAnswer``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import orjson


class HttpTransportError(Exception):
    """No answer: the connection failed or was dropped."""


class HttpTimeout(HttpTransportError):
    """No answer within the request's timeout."""


class HttpConnectionError(HttpTransportError):
    """The connection could not be made, or broke before the answer was read."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]  # case-insensitive (both libraries' header types are)
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON (raises ``json.JSONDecodeError``, a ``ValueError``)."""
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


JSON_HEADERS = {"Content-Type": "application/json"}


class HttpTransport(ABC):
    """What the clients call: ``request`` (the body encoded once, here) and ``aclose``; each
    library's transport below implements ``_send``."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float,
    ) -> HttpAnswer:
        if json_body is None:
            content, all_headers = None, dict(headers or {})
        else:
            content, all_headers = orjson.dumps(json_body), {**JSON_HEADERS, **(headers or {})}
        return await self._send(method, url, params, content, all_headers, timeout_s)

    @abstractmethod
    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        headers: dict[str, str],
        timeout_s: float,
    ) -> HttpAnswer:
        """Send with the library's client; its failures become ``HttpTimeout`` or
        ``HttpConnectionError``."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release what the transport opened."""


# How long an idle pooled connection is kept for reuse. Below the servers' keep-alive (ours keep
# theirs 75 s; One Call's front ends 60 s or more): a server that closes an idle connection just
# as the client reuses it fails the request with "connection reset", and when a burst leaves
# many pooled connections idle at once, aiohttp's single retry meets another closed one.
CLIENT_KEEPALIVE_S = 15.0


class AiohttpTransport(HttpTransport):
    """One ``aiohttp.ClientSession`` with up to ``max_connections`` kept-alive connections;
    create it inside the running event loop.

    ``HTTP(S)_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` are honoured as httpx honours them
    (``trust_env``) when one is set; when none is, the session skips aiohttp's per-request scan of
    the environment (8% of a fetch worker's CPU)."""

    def __init__(
        self, *, max_connections: int = 100, keepalive_s: float = CLIENT_KEEPALIVE_S
    ) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=keepalive_s),
            raise_for_status=False,
            trust_env=proxy_configured(),
        )

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        headers: dict[str, str],
        timeout_s: float,
    ) -> HttpAnswer:
        try:
            async with self._session.request(
                method,
                url,
                params=_query(params),
                data=content,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                body = await response.read()
                return HttpAnswer(response.status, response.headers, body)
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one too
            raise HttpTimeout(f"no answer within {timeout_s} s") from exc
        except aiohttp.ClientError as exc:
            raise HttpConnectionError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        await self._session.close()


PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy"})


def proxy_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment names an HTTP proxy (any case, as urllib reads them)."""
    return any(name.lower() in PROXY_VARIABLES and value for name, value in environ.items())


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """aiohttp takes only str, int and float values; format as httpx does (True -> "true")."""
    if params is None:
        return None
    return {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in params.items()
    }


class HttpxTransport(HttpTransport):
    """An ``httpx.AsyncClient`` behind the same interface; ``aclose`` leaves it open (its owner
    closes it)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        headers: dict[str, str],
        timeout_s: float,
    ) -> HttpAnswer:
        try:
            response = await self._client.request(
                method, url, params=params, content=content, headers=headers, timeout=timeout_s
            )
        except httpx.TimeoutException as exc:
            raise HttpTimeout(f"no answer within {timeout_s} s") from exc
        except httpx.TransportError as exc:
            raise HttpConnectionError(f"{type(exc).__name__}: {exc}") from exc
        return HttpAnswer(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        return None


def as_transport(http: HttpTransport | httpx.AsyncClient) -> HttpTransport:
    """``http`` itself, or an httpx client wrapped."""
    return HttpxTransport(http) if isinstance(http, httpx.AsyncClient) else http
