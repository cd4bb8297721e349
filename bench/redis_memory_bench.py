"""Redis memory per location after three hourly windows of the real pipeline parts.

In one process: a private redis-server, the weather service (SQLite) and mock OWM in process
(``httpx.ASGITransport``), the scheduler (``run_schedule`` given each window's clock), then the
fetch-weather and categorize workers run until idle, then the streams are trimmed as a worker's
housekeeping trims them. The first window is cold (every location backfills its history), the two
after it are steady (one onecall per location).

Reported after the third window:

* ``used_memory`` minus the empty server's, per location (measured);
* ``MEMORY USAGE`` per key family (answer cache, done marks, publish markers, streams, history
  marks, other): every key of a family with few keys, a sample of the rest scaled by its count;
* per family its longest TTL left, and a projection of the steady state: a family that gains keys
  or fields every window (answer cache, done marks, publish markers) holds about its bytes per
  window times the windows one of them lives (``ceil(longest TTL / window)``). The run takes
  minutes, so nothing expires in it; the projection is what the TTLs would leave after hours.

Run: uv run python bench/redis_memory_bench.py [locations=10000]
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
import redis  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from etl_core.logging import configure_logging  # noqa: E402
from etl_core.producer import StreamProducer  # noqa: E402
from etl_core.trim import safe_trim  # noqa: E402
from mock_owm.app import create_app as create_mock_owm  # noqa: E402
from mock_owm.settings import DEFAULT_API_KEY, MockOwmSettings  # noqa: E402
from services import pipeline_keys  # noqa: E402
from services.categorize.settings import CategorizeSettings  # noqa: E402
from services.categorize.wiring import categorize_worker  # noqa: E402
from services.fetch_weather.settings import FetchWeatherSettings  # noqa: E402
from services.fetch_weather.wiring import fetch_worker  # noqa: E402
from services.schedule_jobs.run import ScheduleOptions, run_schedule  # noqa: E402
from services.weather_client import WeatherClientOptions, WeatherServiceClient  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from weather_service.app import create_app as create_weather_service  # noqa: E402
from weather_service.migrate import migrate  # noqa: E402
from weather_service.settings import WeatherServiceSettings  # noqa: E402

WINDOWS = 3
WINDOW = timedelta(hours=1)
WS_KEY = "bench-key-0123456789abcdef"
WS_BASE = "http://weather-service"
OWM_BASE = "http://mock-owm"
SAMPLE_KEYS = 300
FAST_WORKER = {"block_ms": 20, "empty_read_backoff_ms": 10, "delayed_poll_ms": 50}
# Families that gain keys or fields every window; the others hold about the same each window.
PER_WINDOW = ("answer cache", "done marks", "publish markers")


def family(key: bytes, kind: bytes) -> str:
    if kind == b"stream":
        return "streams"
    for prefix, name in (
        (b"etl:owm:", "answer cache"),
        (b"etl:done:", "done marks"),
        (b"etl:published:", "publish markers"),
        (b"etl:history:", "history marks"),
    ):
        if key.startswith(prefix):
            return name
    return "other"


def trail(n: int) -> dict[str, Any]:
    return {
        "id": f"trail-{n:05d}",
        "name": f"Trail {n}",
        "lat": round(30.0 + (n % 2000) * 0.01, 4),
        "lon": round(-120.0 + (n // 2000) * 0.05, 4),
        "soil_drainage": "well",
    }


async def run_window(
    now: datetime, n: int, url: str, weather: WeatherServiceClient, http: dict, outbox: Path
) -> float:
    started = time.monotonic()
    sync = redis.Redis.from_url(url)
    await run_schedule(
        ScheduleOptions(outbox_path=outbox),
        weather=weather,
        producer=StreamProducer(sync, pipeline_keys.INGESTION_STREAM),
        now=now,
    )
    fetch = FetchWeatherSettings.load(
        weather_service_url=WS_BASE,
        weather_service_api_key=WS_KEY,
        owm_base_url=OWM_BASE,
        owm_api_key=DEFAULT_API_KEY,
        owm_rate_limit_per_minute=10_000_000,
        owm_rate_limit_per_day=10_000_000,
        redis_url=url,
    )
    categorize = CategorizeSettings.load(
        weather_service_url=WS_BASE, weather_service_api_key=WS_KEY, redis_url=url
    )
    client = aioredis.Redis.from_url(url)
    async with fetch_worker(
        fetch, redis=client, source_http=http["owm"], weather_http=http["ws"], **FAST_WORKER
    ) as fetcher:
        await fetcher.run(until_idle=True)
    async with categorize_worker(
        categorize, redis=client, weather_http=http["ws"], **FAST_WORKER
    ) as categorizer:
        await categorizer.run(until_idle=True)
    await client.aclose()
    for stream in pipeline_keys.PIPELINE_STREAMS:
        safe_trim(sync, stream)
    sync.close()
    return time.monotonic() - started


def measure(client: redis.Redis) -> dict[str, dict[str, float]]:
    """Per family: keys, bytes (MEMORY USAGE, sampled), longest TTL left (s; -1: none)."""
    by_family: dict[str, list[tuple[bytes, bytes]]] = defaultdict(list)
    for key in client.scan_iter(count=1000):
        by_family[family(key, client.type(key))].append((key, client.type(key)))
    out: dict[str, dict[str, float]] = {}
    for name, members in sorted(by_family.items()):
        sample = members[:: max(1, len(members) // SAMPLE_KEYS)]
        sizes = [int(client.memory_usage(k, samples=0) or 0) for k, _ in sample]
        ttls = [int(client.pttl(k)) for k, _ in sample]
        out[name] = {
            "keys": len(members),
            "bytes": sum(sizes) * len(members) / len(sample),
            "max_ttl_s": max(ttls) / 1000 if min(ttls) >= 0 else -1,
        }
    return out


async def main_async(n: int) -> None:
    configure_logging(json=False, level="WARNING")
    server = RedisServer()
    server.start()
    sync = redis.Redis.from_url(server.url)
    baseline = int(sync.info("memory")["used_memory"])
    with tempfile.TemporaryDirectory(prefix="trail-etl-memory-bench-") as directory:
        db = f"sqlite:///{directory}/weather.db"
        migrate(db)
        ws_app = create_weather_service(
            WeatherServiceSettings(
                database_url=db,
                weather_service_api_keys=WS_KEY,
                weather_service_migrate_on_start=False,
            )
        )
        owm_app = create_mock_owm(MockOwmSettings.load(admin_token="bench-admin-token-0123456789"))
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=ws_app), base_url=WS_BASE, timeout=120
            ) as ws_http,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=owm_app), base_url=OWM_BASE, timeout=120
            ) as owm_http,
        ):
            weather = WeatherServiceClient(
                ws_http, WeatherClientOptions(base_url=WS_BASE, api_key=WS_KEY)
            )
            for start in range(0, n, 1000):
                await weather.upsert_locations(
                    [trail(i) for i in range(start, min(n, start + 1000))]
                )
            first = datetime.now(UTC) - (WINDOWS - 1) * WINDOW
            for w in range(WINDOWS):
                elapsed_s = await run_window(
                    first + w * WINDOW,
                    n,
                    server.url,
                    weather,
                    {"ws": ws_http, "owm": owm_http},
                    Path(directory) / "outbox.sqlite3",
                )
                print(f"window {w + 1}: {n} locations in {elapsed_s:.1f} s", flush=True)
    used = int(sync.info("memory")["used_memory"]) - baseline
    families = measure(sync)
    sync.close()
    server.close()
    print(f"\nlocations: {n}, windows: {WINDOWS} of {WINDOW}")
    print(f"used_memory - empty baseline: {used / n:,.0f} B per location ({used:,} B)")
    print(f"{'family':16} {'keys':>8} {'B/location':>11} {'longest TTL':>12} {'steady B/loc':>13}")
    steady_total = 0.0
    for name, f in families.items():
        ttl_s = f["max_ttl_s"]
        per_loc = f["bytes"] / n
        steady = per_loc
        if name in PER_WINDOW and ttl_s > 0:
            steady = per_loc / WINDOWS * max(1, math.ceil(ttl_s / WINDOW.total_seconds()))
        steady_total += steady
        ttl = "none" if ttl_s < 0 else f"{ttl_s / 3600:.1f} h"
        print(f"{name:16} {f['keys']:>8} {per_loc:>11,.0f} {ttl:>12} {steady:>13,.0f}")
    print(f"projected steady state: {steady_total:,.0f} B per location (target <= 9,000)")


def main(argv: list[str]) -> None:
    asyncio.run(main_async(int(argv[0]) if argv else 10_000))


if __name__ == "__main__":
    main(sys.argv[1:])
