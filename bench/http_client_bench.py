"""Client CPU per request of the HTTP libraries the workers could use, against mock_owm's onecall
(a 17 KB answer) served by its own process, with ``concurrency`` requests in flight.

The places repeat (the mock caches their hours), so the mock is not the limit; what is measured is
the CPU time of this process per request: what a fetch worker spends on HTTP for each location.
The libraries are driven through ``services.http_transport``, as the clients use them.

Run: uv run python bench/http_client_bench.py [requests] [concurrency]
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvloop  # noqa: E402

from services.demo.environment import cli_command  # noqa: E402
from services.http_transport import AiohttpTransport, HttpTransport, HttpxTransport  # noqa: E402
from tests.support.polling import wait_until  # noqa: E402
from tests.support.redis_server import free_port  # noqa: E402

PLACES = 100
WARMUP_REQUESTS = 200


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


async def _measure(
    make: Callable[[], Awaitable[HttpTransport]], base: str, n: int, concurrency: int
) -> tuple[float, float]:
    transport = await make()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        params = {
            "lat": round(40.0 + (i % PLACES) * 0.01, 4),
            "lon": -105.0,
            "units": "metric",
            "exclude": "minutely",
            "appid": "mock-owm-key",
        }
        async with gate:
            answer = await transport.request(
                "GET", base + "/data/3.0/onecall", params=params, timeout_s=30.0
            )
        if answer.status != 200:
            raise SystemExit(f"mock answered {answer.status}: {answer.text[:200]}")

    try:
        await asyncio.gather(*(one(i) for i in range(WARMUP_REQUESTS)))
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.process_time() - cpu, time.monotonic() - wall
    finally:
        await transport.aclose()


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 3000
    concurrency = int(argv[1]) if len(argv) > 1 else 64
    port = free_port()
    mock = subprocess.Popen(
        cli_command("serve", "mock-owm", "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    clients: list[httpx.AsyncClient] = []

    async def httpx_default() -> HttpTransport:
        clients.append(httpx.AsyncClient())
        return HttpxTransport(clients[-1])

    async def httpx_sized() -> HttpTransport:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        clients.append(httpx.AsyncClient(limits=limits))
        return HttpxTransport(clients[-1])

    async def aiohttp_sized() -> HttpTransport:
        return AiohttpTransport(max_connections=concurrency)

    try:
        wait_until(lambda: _healthy(base + "/__health"), timeout_s=60, message="mock_owm to start")
        print(f"{n} onecall requests, {concurrency} in flight, mock_owm in its own process")
        for name, make in (
            ("httpx, default pool (20 kept alive)", httpx_default),
            (f"httpx, pool of {concurrency}", httpx_sized),
            (f"aiohttp, pool of {concurrency}", aiohttp_sized),
        ):
            cpu_s, wall_s = uvloop.run(_measure(make, base, n, concurrency))
            print(
                f"{name:40s} client CPU {1000 * cpu_s / n:6.3f} ms/request, "
                f"{n / wall_s:7.0f} requests/s"
            )
        for client in clients:
            uvloop.run(client.aclose())
    finally:
        mock.terminate()
        mock.wait(timeout=30)


if __name__ == "__main__":
    main(sys.argv[1:])
