"""How many onecall requests per second mock_owm serves, at zero latency and with no faults.

The mock runs in its own process (``python -m mock_owm.server``) on a free loopback port, so the
httpx client does not share its CPU. Two phases of ``seconds`` each, ``concurrency`` requests in
flight:

* ``unique_locations``: every request asks for a new place (nothing cached: the cost of a first
  call, which is what a pipeline run over fresh trails pays);
* ``repeated_locations``: 500 places asked again and again (the generated hours and encoded parts
  are cached);
* ``prewarmed_locations``: new places announced first through ``POST /__warm`` (hours generated
  ahead), each then asked once: what a pipeline benchmark gets if it warms the mock with its trails.

Besides requests/s it reports the server's CPU time per request (from /proc), because on a small
machine the client, not the mock, is often the limit: ``server_capacity_per_core_per_s`` is what one
core running only the mock would serve.

Run: ``uv run python bench/mock_owm_bench.py [seconds] [concurrency]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mock_owm.auth import admin_headers, generate_admin_token  # noqa: E402
from tests.support.polling import wait_until  # noqa: E402
from tests.support.redis_server import free_port  # noqa: E402

API_KEY = "mock-owm-key"
REPEATED_PLACES = 500
PREWARMED_PLACES = 1_000  # 8,000 local days: within the default day cache
WARMUP_REQUESTS = 100
CONNECTIONS_PER_CLIENT = 8


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux), or None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _places(rnd: random.Random) -> tuple[float, float]:
    return round(rnd.uniform(25.0, 65.0), 4), round(rnd.uniform(-125.0, 40.0), 4)


async def _phase(
    clients: list[httpx.AsyncClient], pid: int, *, seconds: float, concurrency: int, next_place: Any
) -> dict[str, Any]:
    done = errors = 0
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done, errors
        while time.monotonic() < deadline:
            place = next_place()
            if place is None:
                return
            lat, lon = place
            response = await client.get(
                "/data/3.0/onecall", params={"lat": lat, "lon": lon, "appid": API_KEY}
            )
            if response.status_code == 200:
                done += 1
            else:
                errors += 1

    server_cpu0, client_cpu0, start = _process_cpu_s(pid), time.process_time(), time.monotonic()
    await asyncio.gather(*(worker(clients[n % len(clients)]) for n in range(concurrency)))
    elapsed = time.monotonic() - start
    server_cpu1 = _process_cpu_s(pid)
    result: dict[str, Any] = {
        "requests": done,
        "errors": errors,
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(done / elapsed, 1),
        "client_cpu_ms_per_request": round((time.process_time() - client_cpu0) / done * 1e3, 3),
    }
    if server_cpu0 is not None and server_cpu1 is not None and done:
        cpu_ms = (server_cpu1 - server_cpu0) / done * 1e3
        result["server_cpu_ms_per_request"] = round(cpu_ms, 3)
        result["server_capacity_per_core_per_s"] = round(1e3 / cpu_ms) if cpu_ms else None
    return result


async def _measure(
    base_url: str, admin_token: str, pid: int, seconds: float, concurrency: int
) -> dict[str, Any]:
    rnd = random.Random(2024)
    # httpx's connection pool does work per pooled connection on every request, so the load is
    # spread over several small clients: the client's CPU, not the mock's, is the usual limit.
    n_clients = max(1, concurrency // CONNECTIONS_PER_CLIENT)
    per_client = -(-concurrency // n_clients)
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    clients = [
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) for _ in range(n_clients)
    ]
    try:
        for _ in range(WARMUP_REQUESTS):
            lat, lon = _places(rnd)
            await clients[0].get(
                "/data/3.0/onecall", params={"lat": lat, "lon": lon, "appid": API_KEY}
            )
        unique = await _phase(
            clients, pid, seconds=seconds, concurrency=concurrency, next_place=lambda: _places(rnd)
        )
        fixed = [_places(rnd) for _ in range(REPEATED_PLACES)]
        for lat, lon in fixed:
            await clients[0].get(
                "/data/3.0/onecall", params={"lat": lat, "lon": lon, "appid": API_KEY}
            )
        repeated = await _phase(
            clients,
            pid,
            seconds=seconds,
            concurrency=concurrency,
            next_place=lambda: fixed[rnd.randrange(REPEATED_PLACES)],
        )
        fresh = [_places(rnd) for _ in range(PREWARMED_PLACES)]
        warmed = await clients[0].post(
            "/__warm", json={"locations": fresh}, headers=admin_headers(admin_token), timeout=120.0
        )
        warmed.raise_for_status()
        queue = iter(fresh)
        prewarmed = await _phase(
            clients,
            pid,
            seconds=seconds,
            concurrency=concurrency,
            next_place=lambda: next(queue, None),
        )
    finally:
        for client in clients:
            await client.aclose()
    return {
        "unique_locations": unique,
        "repeated_locations": repeated,
        "prewarmed_locations": prewarmed,
    }


def run(seconds: float = 5.0, concurrency: int = 64) -> dict[str, Any]:
    """Start the mock in a subprocess, measure both phases (``seconds`` each), stop it."""
    port = free_port()
    admin_token = generate_admin_token()
    env = {
        **os.environ,
        "MOCK_OWM_API_KEYS": API_KEY,
        "MOCK_OWM_ADMIN_TOKEN": admin_token,
        "MOCK_OWM_LOG_LEVEL": "WARNING",
    }
    for name in (
        "ERROR_RATE",
        "LATENCY_MS",
        "TIMEOUT_RATE",
        "MALFORMED_RATE",
        "429_RATE",
        "RATE_LIMIT_PER_MINUTE",
        "RATE_LIMIT_PER_DAY",
        "NOW",
    ):
        env.pop(f"MOCK_OWM_{name}", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_owm.server", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"mock_owm exited with {proc.returncode}")
        try:
            return httpx.get(base_url + "/__health", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, timeout_s=30.0, message="mock_owm to start")
        phases = asyncio.run(_measure(base_url, admin_token, proc.pid, seconds, concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {
        "seconds_per_phase": seconds,
        "concurrency": concurrency,
        "cpus": os.cpu_count(),
        **phases,
        "onecall_per_s": min(p["requests_per_s"] for p in phases.values()),
    }


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    result = run(seconds, concurrency)
    print(json.dumps(result, indent=2))
    for name in ("unique_locations", "repeated_locations", "prewarmed_locations"):
        phase = result[name]
        capacity = phase.get("server_capacity_per_core_per_s")
        print(
            f"{name}: {phase['requests_per_s']} onecall/s measured"
            + (
                f"; server {phase['server_cpu_ms_per_request']} ms CPU per request"
                f" = {capacity}/s per core"
                if capacity
                else ""
            )
        )


if __name__ == "__main__":
    main()
