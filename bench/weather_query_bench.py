"""The categorize read: ``POST /v1/weather/query`` for 200 locations x 76 hours, with every record
field against only the nine the categorize handler asks for (``fields``).

Starts the real service on SQLite (``weather_service_bench._service``), stores 76 hours for each
of 200 locations (``weather_service_bench``'s records), then sends the same query ``rounds`` times
one after another in each mode, alternating, and reports wall milliseconds per query (the
service's work plus receiving the answer, as a worker sees it) and the answer's size.

    uv run python bench/weather_query_bench.py [rounds=20]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
import weather_service_bench  # noqa: E402

from services.categorize.handler import HOURLY_FIELDS  # noqa: E402

LOCATIONS = 200  # the service's limit per query, which the categorize worker fills when busy
HOURS = 76  # CATEGORIZE_HISTORY_H 72 + this hour + CATEGORIZE_FORECAST_H 3


def _seed(client: httpx.Client) -> list[str]:
    """The locations and their records (the write benchmark's); returns the ids."""
    ids, bodies = weather_service_bench._bodies(LOCATIONS * HOURS, 5000, hours_per_location=HOURS)
    weather_service_bench._add_locations(client, ids)
    for body in bodies:
        response = client.put(
            "/v1/weather", content=body, headers={"Content-Type": "application/json"}
        )
        response.raise_for_status()
    return ids


def main(argv: list[str]) -> None:
    rounds = int(argv[0]) if argv else 20
    with (
        tempfile.TemporaryDirectory(prefix="trail-etl-bench-") as directory,
        weather_service_bench._service(f"sqlite:///{directory}/weather.db") as base_url,
        httpx.Client(
            base_url=base_url,
            headers={"X-API-Key": weather_service_bench.API_KEY},
            timeout=weather_service_bench.REQUEST_TIMEOUT_S,
        ) as client,
    ):
        ids = _seed(client)
        first = weather_service_bench.FIRST_HOUR
        query = {
            "location_ids": ids,
            "start": first.isoformat(),
            "end": (first + timedelta(hours=HOURS)).isoformat(),
        }
        modes = {
            "every field": query,
            f"{len(HOURLY_FIELDS)} fields": {**query, "fields": HOURLY_FIELDS},
        }
        timings: dict[str, list[float]] = {name: [] for name in modes}
        sizes: dict[str, int] = {}
        for _ in range(rounds):
            for name, body in modes.items():
                started = time.perf_counter()
                response = client.post("/v1/weather/query", json=body)
                timings[name].append(time.perf_counter() - started)
                response.raise_for_status()
                records = sum(len(item["records"]) for item in response.json()["items"])
                if records != LOCATIONS * HOURS:
                    raise SystemExit(f"{name}: {records} records, expected {LOCATIONS * HOURS}")
                sizes[name] = len(response.content)
    print(f"POST /v1/weather/query, {LOCATIONS} locations x {HOURS} hours, {rounds} rounds:")
    for name, took in timings.items():
        print(
            f"  {name:12s}: median {1000 * statistics.median(took):.1f} ms per query "
            f"({1e6 * statistics.median(took) / LOCATIONS:.0f} us per location), "
            f"answer {sizes[name] / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
