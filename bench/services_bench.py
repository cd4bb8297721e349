"""The two HTTP services in one run: weather-service upserts (SQLite and PostgreSQL) and mock_owm
onecall requests per second.

Target (issue: services): >= 20,000 hourly records/s upserted through the weather service's HTTP
API on SQLite, in batches.

Run: uv run python bench/services_bench.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import mock_owm_bench  # noqa: E402
import weather_service_bench  # noqa: E402


def main() -> None:
    weather = weather_service_bench.run()
    for backend, figures in weather.items():
        if "skipped" in figures:
            print(f"weather-service {backend:9} skipped: {figures['skipped']}")
        else:
            print(
                f"weather-service {backend:9} {figures['records_per_s']:>8,} hourly records/s "
                f"(batch {figures['batch']}, {figures['records']:,} records)"
            )
    mock = mock_owm_bench.run()
    for phase, figures in mock.items():
        if isinstance(figures, dict) and "requests_per_s" in figures:
            print(f"mock_owm onecall {phase:22} {figures['requests_per_s']:>8,} requests/s")


if __name__ == "__main__":
    main()
