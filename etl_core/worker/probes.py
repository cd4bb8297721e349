"""The worker's HTTP endpoints: ``GET /metrics``, ``/livez`` and ``/readyz``, in its own event loop.

Why a tiny ``asyncio.start_server`` responder and not uvicorn: three fixed GET routes need no
framework, and uvicorn's ``Server.serve`` takes over SIGTERM/SIGINT, which the worker installs
for its graceful stop. Running in the worker's loop (no thread) is the point of ``/livez``: if the
loop is stuck, the probe goes unanswered too.

* ``/metrics``: the Prometheus text format of the worker's own ``CollectorRegistry``;
* ``/livez``: 200 while the read loop has gone round within ``liveness_timeout_s``, else 503;
* ``/readyz``: 200 when Redis answers PING within ``ping_timeout_s`` and the worker takes tasks
  (``not_ready`` says why not, e.g. its stage is paused), else 503 with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from etl_core.logging import get_logger
from etl_core.worker.metrics import WorkerMetrics

DEFAULT_PING_TIMEOUT_S = 1.0
METRICS_PATH = "/metrics"
LIVENESS_PATH = "/livez"
READINESS_PATH = "/readyz"
REQUEST_TIMEOUT_S = 5.0
MAX_REQUEST_HEAD_BYTES = 16_384
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}

log = get_logger(__name__, component="probes")

Response = tuple[int, str, bytes]


def _json(code: int, /, **body: Any) -> Response:
    return code, "application/json", json.dumps(body).encode()


class ProbeServer:
    """Serves one worker's probes on ``host:port`` (port 0: any free one, see ``port``)."""

    def __init__(
        self,
        metrics: WorkerMetrics,
        redis: Any,
        *,
        host: str,
        port: int,
        liveness_timeout_s: float,
        ping_timeout_s: float = DEFAULT_PING_TIMEOUT_S,
        not_ready: Callable[[], str | None] | None = None,
    ) -> None:
        self.metrics = metrics
        self.redis = redis
        self.host = host
        self.port = port
        self.liveness_timeout_s = liveness_timeout_s
        self.ping_timeout_s = ping_timeout_s
        self.not_ready = not_ready
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; ``OSError`` when the address cannot be bound (e.g. in use)."""
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=MAX_REQUEST_HEAD_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("probes_listening", host=self.host, port=self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=REQUEST_TIMEOUT_S)
            self._server = None

    # -- the endpoints ---------------------------------------------------------------------

    async def answer(self, method: str, path: str) -> Response:
        if method not in ("GET", "HEAD"):
            return _json(405, error="only GET")
        route = path.split("?", 1)[0]
        if route == METRICS_PATH:
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry)
        if route == LIVENESS_PATH:
            return self.liveness()
        if route == READINESS_PATH:
            return await self.readiness()
        return _json(404, error="not found", routes=[METRICS_PATH, LIVENESS_PATH, READINESS_PATH])

    def liveness(self) -> Response:
        age_s = round(self.metrics.loop_age_s(), 3)
        if age_s <= self.liveness_timeout_s:
            return _json(200, status="ok", loop_age_s=age_s)
        reason = f"read loop has not gone round for {age_s} s (timeout {self.liveness_timeout_s} s)"
        return _json(503, status="stalled", reason=reason, loop_age_s=age_s)

    async def readiness(self) -> Response:
        try:
            await asyncio.wait_for(self.redis.ping(), timeout=self.ping_timeout_s)
        except TimeoutError:
            reason = f"redis did not answer PING within {self.ping_timeout_s} s"
            return _json(503, status="unavailable", reason=reason)
        except Exception as exc:  # any client error means: not ready
            reason = f"redis PING failed: {type(exc).__name__}: {exc}"[:300]
            return _json(503, status="unavailable", reason=reason)
        why = self.not_ready() if self.not_ready is not None else None
        if why:
            return _json(503, status="paused", reason=why[:600])
        return _json(200, status="ok")

    # -- HTTP/1.0-style plumbing: one request per connection -----------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method = ""
        try:
            try:
                head = await asyncio.wait_for(
                    reader.readuntil(b"\r\n\r\n"), timeout=REQUEST_TIMEOUT_S
                )
                method, path, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return  # the client went away or sent no request in time: nothing to answer
            except ValueError:
                status, ctype, body = _json(400, error="bad request line")
            else:
                status, ctype, body = await self.answer(method, path)
            head_out = (
                f"HTTP/1.1 {status} {REASONS.get(status, '')}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
            ).encode("latin-1")
            writer.write(head_out if method == "HEAD" else head_out + body)
            await asyncio.wait_for(writer.drain(), timeout=REQUEST_TIMEOUT_S)
        except Exception:
            log.exception("probe_request_failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
