"""Upsert throughput of the weather service through its HTTP API.

Starts the real service (``weather_service.server.serve``: uvicorn in a subprocess on a free port)
on SQLite in a temporary directory, and on PostgreSQL in a fresh temporary database when one is
reachable at ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``);
then PUTs ``n_records`` hourly weather records to ``/v1/weather`` in batches of ``batch`` and
reports records per second for each backend. Request bodies are encoded before the clock starts,
so the figure is the service's, not the client's JSON encoder's.

    uv run python bench/weather_service_bench.py [n_records] [batch] [concurrency]
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from psycopg import sql

API_KEY = "bench-key-" + secrets.token_hex(8)
HOURS_PER_LOCATION = 2000
FIRST_HOUR = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_CONCURRENCY = 2
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 120.0
PG_ADMIN_URL = (
    os.environ.get("TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_BENCH_PREFIX = "trail_etl_bench_"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _service(database_url: str) -> Iterator[str]:
    """The real service in a subprocess; yields its base URL once ``/ready`` answers 200."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WEATHER_SERVICE_API_KEYS": API_KEY,
        "WEATHER_SERVICE_LOG_LEVEL": "WARNING",
    }
    code = f"from weather_service.server import serve; serve('127.0.0.1', {port})"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"weather service exited with {proc.returncode}")
            try:
                if httpx.get(f"{base_url}/ready", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("weather service did not become ready in time")
            time.sleep(0.05)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _bodies(
    n_records: int, batch: int, *, hours_per_location: int = HOURS_PER_LOCATION
) -> tuple[list[str], list[bytes]]:
    """Location ids and the encoded ``PUT /v1/weather`` bodies holding ``n_records`` records,
    ``hours_per_location`` consecutive hours from FIRST_HOUR for each location."""
    n_locations = max(1, -(-n_records // hours_per_location))
    ids = [f"bench-{i:05d}" for i in range(n_locations)]
    fetched_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    records: list[dict[str, Any]] = []
    for n in range(n_records):
        location, hour = divmod(n, hours_per_location)
        records.append(
            {
                "location_id": ids[location],
                "hour": (FIRST_HOUR + timedelta(hours=hour)).isoformat(),
                "kind": "observed" if hour % 3 else "forecast",
                "temperature_c": round(-5 + (n % 300) / 10, 1),
                "humidity_pct": 40 + n % 60,
                "wind_speed_ms": 3.5,
                "wind_gust_ms": 7.25,
                "rain_mm": (n % 7) / 10,
                "snow_mm": 0.0,
                "weather_id": 500 if n % 7 else 800,
                "pop": 0.4,
                "source": "owm-onecall-3.0",
                "fetched_at": fetched_at,
            }
        )
    bodies = [
        json.dumps({"records": records[i : i + batch]}).encode()
        for i in range(0, len(records), batch)
    ]
    return ids, bodies


def _add_locations(client: httpx.Client, ids: list[str]) -> None:
    for i in range(0, len(ids), 1000):
        locations = [
            {"id": loc, "name": f"Bench {loc}", "lat": 40.0, "lon": -105.0}
            for loc in ids[i : i + 1000]
        ]
        client.post("/v1/locations", json={"locations": locations}).raise_for_status()


def _measure(base_url: str, n_records: int, batch: int, concurrency: int) -> dict[str, Any]:
    ids, bodies = _bodies(n_records, batch)
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        _add_locations(client, ids)

    clients = [
        httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
        for _ in range(concurrency)
    ]

    def put(index: int) -> int:
        response = clients[index % concurrency].put("/v1/weather", content=bodies[index])
        response.raise_for_status()
        return int(response.json()["written"])

    try:
        put(0)  # warm-up: connections, statement caches (re-sent below; it is idempotent)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            written = sum(pool.map(put, range(len(bodies))))
        elapsed_s = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    return {
        "records": n_records,
        "batch": batch,
        "concurrency": concurrency,
        "written": written,
        "elapsed_s": round(elapsed_s, 3),
        "records_per_s": round(n_records / elapsed_s),
    }


@contextmanager
def _postgres_database() -> Iterator[str | None]:
    """A fresh ``trail_etl_bench_*`` database, or None when PostgreSQL is not reachable."""
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        yield None
        return
    name = PG_BENCH_PREFIX + secrets.token_hex(6)
    params = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_URL)
    params["dbname"] = name
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield "postgresql://" + _url_tail(params)
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _url_tail(params: dict[str, Any]) -> str:
    user = params.get("user", "")
    password = params.get("password")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port = params.get("host", "127.0.0.1"), params.get("port", "5432")
    return f"{auth}{host}:{port}/{params['dbname']}"


def run(
    n_records: int = 200_000, batch: int = 1000, concurrency: int = DEFAULT_CONCURRENCY
) -> dict[str, Any]:
    """Records per second upserted through the HTTP API, per backend."""
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="weather-service-bench-") as directory,
        _service(f"sqlite:///{directory}/bench.db") as base_url,
    ):
        results["sqlite"] = _measure(base_url, n_records, batch, concurrency)
    with _postgres_database() as pg_url:
        if pg_url is None:
            results["postgres"] = {"skipped": f"PostgreSQL not reachable at {PG_ADMIN_URL}"}
        else:
            with _service(pg_url) as base_url:
                results["postgres"] = _measure(base_url, n_records, batch, concurrency)
    return results


def main(argv: list[str]) -> None:
    n_records = int(argv[0]) if argv else 200_000
    batch = int(argv[1]) if len(argv) > 1 else 1000
    concurrency = int(argv[2]) if len(argv) > 2 else DEFAULT_CONCURRENCY
    results = run(n_records, batch, concurrency)
    for backend, figures in results.items():
        if "skipped" in figures:
            print(f"{backend:9} skipped: {figures['skipped']}")
            continue
        print(
            f"{backend:9} {figures['records_per_s']:>8,} records/s  "
            f"({figures['records']:,} records in {figures['elapsed_s']} s, "
            f"batch {figures['batch']}, concurrency {figures['concurrency']})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
