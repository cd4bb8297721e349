"""Both pipeline workers serve /metrics with what they did and the Redis gauges of their stream;
METRICS_PORT=0 or a port in use leaves a worker running without probes."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from etl_core import keys
from etl_core.breaker import BreakerOptions, CircuitBreaker
from services import pipeline_keys, worker_metrics
from services.categorize.wiring import categorize_worker
from services.fetch_weather.wiring import fetch_worker, rate_limiter
from services.worker_metrics import pipeline_worker_metrics, refresh_gauges, served_metrics
from tests.conftest import RedisBackend
from tests.services.conftest import WeatherService, trail
from tests.services.pipeline.failure_support import QUICK_RETRIES, schedule
from tests.services.pipeline.helpers import categorize_settings, fetch_settings
from tests.support.polling import await_until
from tests.support.redis_server import free_port

LOCATIONS = 6
POISON = [{"junk": "1"}, {"type": "owm.nope", "v": "1"}, {"type": "owm.ingest"}]


@pytest.fixture(autouse=True)
def _quick_gauges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_metrics, "GAUGES_INTERVAL_S", 0.05)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


class Page:
    """One scrape of /metrics, read by sample name and labels."""

    def __init__(self, text: str, stage: str) -> None:
        self.stage = stage
        self.samples = [s for f in text_string_to_metric_families(text) for s in f.samples]

    def get(self, name: str, **labels: str) -> float | None:
        wanted = {"stage": self.stage, **labels}
        found = [s.value for s in self.samples if s.name == name and s.labels == wanted]
        return float(found[0]) if found else None


def metrics_on(port: int) -> dict[str, Any]:
    return {"metrics_port": port, "metrics_host": "127.0.0.1"}


Gauges = list[tuple[str, dict[str, str], float]]


async def scrape_until(http: httpx.AsyncClient, port: int, stage: str, gauges: Gauges) -> Page:
    """Scrape until every (name, labels, value) of ``gauges`` holds: the refresher sets them every
    interval, so a scrape may show them as they were before the last task."""

    async def page() -> Page | None:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
        scraped = Page(response.text, stage)
        done = all(scraped.get(name, **labels) == v for name, labels, v in gauges)
        return scraped if done else None

    return await await_until(page, message=f"the {stage} gauges after the run")


def seed_full_minute(sredis: Any, *, ages_out_in_s: float) -> None:
    """Fill the OWM limiter's rolling minute (fetch_settings: 1000 per minute) with admissions
    that all age out in ``ages_out_in_s``: the worker's first calls must wait that long."""
    seconds, micros = sredis.time()
    now_us = int(seconds) * 1_000_000 + int(micros)
    admitted_us = now_us - 60_000_000 + int(ages_out_in_s * 1_000_000)
    window = keys.rate_limit_window(pipeline_keys.OWM_RATE_LIMITER, 60_000)
    sredis.zadd(window, {f"{admitted_us}:seed:{i}": admitted_us for i in range(1000)})


async def test_both_workers_serve_their_counts_and_stream_gauges(
    weather: WeatherService,
    owm_http: httpx.AsyncClient,
    aredis: Any,
    sredis: Any,
    backend: RedisBackend,
    tmp_path: Path,
    http: httpx.AsyncClient,
) -> None:
    await weather.client.upsert_locations([trail(n) for n in range(LOCATIONS)])
    assert await schedule(weather, backend, tmp_path) == LOCATIONS
    for fields in POISON:
        sredis.xadd(pipeline_keys.INGESTION_STREAM, fields)
    ingested = LOCATIONS + len(POISON)

    port = free_port()
    async with fetch_worker(
        fetch_settings(**metrics_on(port)),
        redis=aredis,
        source_http=owm_http,
        weather_http=weather.http,
        concurrency=8,
        metrics=pipeline_worker_metrics(pipeline_keys.FETCH_GROUP),
        **QUICK_RETRIES,
    ) as fetcher:
        # Seeded once the worker is built (clients, probe server), so its first calls find the
        # minute full even on a loaded machine.
        seed_full_minute(sredis, ages_out_in_s=1.0)
        counts = await fetcher.run(until_idle=True)
        stream = {"stream": pipeline_keys.INGESTION_STREAM}
        group = {**stream, "group": pipeline_keys.FETCH_GROUP}
        minute = {"limiter": pipeline_keys.OWM_RATE_LIMITER, "window_ms": "60000"}
        expected: Gauges = [
            (
                "trail_etl_worker_rate_limit_factor",
                {"limiter": pipeline_keys.OWM_RATE_LIMITER},
                1.0,
            ),
            ("trail_etl_worker_rate_limit_effective", minute, 1000),
            ("trail_etl_worker_stream_length", stream, ingested),
            ("trail_etl_worker_dead_letter_stream_length", stream, len(POISON)),
            ("trail_etl_worker_delayed_retries", stream, 0),
            ("trail_etl_worker_group_pending", group, 0),
            ("trail_etl_worker_group_lag", group, 0),
        ]
        page = await scrape_until(http, port, pipeline_keys.FETCH_GROUP, expected)
    assert counts.forwarded == LOCATIONS and counts.dead_lettered == len(POISON)
    tasks = "trail_etl_worker_tasks_total"
    assert page.get(tasks, outcome="forwarded") == LOCATIONS
    assert page.get(tasks, outcome="dead_lettered") == len(POISON)
    assert page.get(tasks, outcome="retried") == counts.retried
    assert page.get(tasks, outcome="done") == 0
    assert page.get("trail_etl_worker_dead_letters_total", error_type="PoisonMessage") == len(
        POISON
    )
    assert page.get("trail_etl_worker_handler_duration_seconds_count") == ingested
    assert page.get("trail_etl_worker_breaker_state", breaker=pipeline_keys.OWM_BREAKER) == 0
    assert page.get("trail_etl_worker_reclaimed_total") == 0
    limiter = {"limiter": pipeline_keys.OWM_RATE_LIMITER}
    waits = page.get("trail_etl_worker_rate_limit_waits_total", **limiter)
    assert waits is not None and 1 <= waits <= 8  # the first calls, at most one per slot
    waited_s = page.get("trail_etl_worker_rate_limit_wait_seconds_total", **limiter)
    assert waited_s is not None and waited_s >= 0.2 * waits
    assert page.get("trail_etl_worker_rate_limit_refusals_total", **limiter) is None  # no 429
    # Every new location: one onecall and three day_summary calls, each counted once as paid.
    calls = "trail_etl_worker_source_calls_total"
    assert page.get(calls, source="owm", endpoint="onecall", outcome="ok") == LOCATIONS
    assert page.get(calls, source="owm", endpoint="day_summary", outcome="ok") == 3 * LOCATIONS

    async with categorize_worker(
        categorize_settings(**metrics_on(port)),  # the fetch worker's port is free again
        redis=aredis,
        weather_http=weather.http,
        concurrency=8,
        metrics=pipeline_worker_metrics(pipeline_keys.CATEGORIZE_GROUP),
        **QUICK_RETRIES,
    ) as categorizer:
        labelled = await categorizer.run(until_idle=True)
        stream = {"stream": pipeline_keys.CATEGORIZATION_STREAM}
        group = {**stream, "group": pipeline_keys.CATEGORIZE_GROUP}
        expected = [
            ("trail_etl_worker_stream_length", stream, LOCATIONS),
            ("trail_etl_worker_dead_letter_stream_length", stream, 0),
            ("trail_etl_worker_group_pending", group, 0),
            ("trail_etl_worker_group_lag", group, 0),
        ]
        page = await scrape_until(http, port, pipeline_keys.CATEGORIZE_GROUP, expected)
    assert labelled.done == LOCATIONS
    assert page.get(tasks, outcome="done") == LOCATIONS
    assert page.get("trail_etl_worker_handler_duration_seconds_count") == LOCATIONS
    assert page.get("trail_etl_worker_breaker_state", breaker=pipeline_keys.OWM_BREAKER) is None
    assert (
        page.get("trail_etl_worker_breaker_state", breaker=pipeline_keys.WEATHER_SERVICE_BREAKER)
        == 0
    )


async def test_no_probes_with_port_0_or_a_port_in_use_and_the_worker_still_runs(
    weather: WeatherService, aredis: Any
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = taken.getsockname()[1]
        for port in (0, busy_port):
            await aredis.xadd(pipeline_keys.CATEGORIZATION_STREAM, {"junk": "1"})
            settings = categorize_settings(**metrics_on(port))
            metrics = pipeline_worker_metrics(pipeline_keys.CATEGORIZE_GROUP)
            async with categorize_worker(
                settings, redis=aredis, weather_http=weather.http, metrics=metrics, **QUICK_RETRIES
            ) as worker:
                async with served_metrics(settings, metrics, worker) as server:
                    assert server is None
                counts = await worker.run(until_idle=True)
            assert counts.dead_lettered == 1
            dead = metrics.registry.get_sample_value(
                "trail_etl_worker_tasks_total",
                {"stage": pipeline_keys.CATEGORIZE_GROUP, "outcome": "dead_lettered"},
            )
            assert dead == 1  # the hooks count without a server too


async def test_a_refresh_reads_the_breaker_state_every_replica_shares(aredis: Any) -> None:
    metrics = pipeline_worker_metrics("test-stage")
    options = BreakerOptions(minimum_calls=2, window_calls=4)
    ours = CircuitBreaker(aredis, "shared", options)
    await refresh_gauges(metrics, aredis, stream="no-such-stream", breakers=[ours])

    def gauge(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"stage": "test-stage", **labels})

    assert gauge("trail_etl_worker_breaker_state", breaker="shared") == 0
    assert gauge("trail_etl_worker_breaker_failure_rate", breaker="shared") == 0
    assert gauge("trail_etl_worker_stream_length", stream="no-such-stream") == 0
    other_replica = CircuitBreaker(aredis, "shared", options)
    await other_replica.record_success()
    await other_replica.record_failure()
    await refresh_gauges(metrics, aredis, stream="no-such-stream", breakers=[ours])
    assert gauge("trail_etl_worker_breaker_state", breaker="shared") == 0
    assert gauge("trail_etl_worker_breaker_failure_rate", breaker="shared") == 0.5
    await other_replica.record_failure()
    await refresh_gauges(metrics, aredis, stream="no-such-stream", breakers=[ours])
    assert gauge("trail_etl_worker_breaker_state", breaker="shared") == 1  # open


async def test_a_refresh_reads_the_admission_factor_every_replica_shares(aredis: Any) -> None:
    metrics = pipeline_worker_metrics("test-stage")
    settings = fetch_settings(owm_rate_limit_per_minute=20)
    ours = rate_limiter(aredis, settings)
    await refresh_gauges(metrics, aredis, stream="no-such-stream", limiter=ours)

    def gauge(name: str, **labels: str) -> float | None:
        labels = {"stage": "test-stage", "limiter": pipeline_keys.OWM_RATE_LIMITER, **labels}
        return metrics.registry.get_sample_value(name, labels)

    assert gauge("trail_etl_worker_rate_limit_factor") == 1.0
    assert gauge("trail_etl_worker_rate_limit_effective", window_ms="60000") == 20
    other_replica = rate_limiter(aredis, settings)
    for _ in range(5):  # its 429s: 5 of 5 permits
        await other_replica.report_refusal(await other_replica.try_acquire())
    await refresh_gauges(metrics, aredis, stream="no-such-stream", limiter=ours)
    assert gauge("trail_etl_worker_rate_limit_factor") == pytest.approx(0.5, abs=0.01)
    assert gauge("trail_etl_worker_rate_limit_effective", window_ms="60000") == 10
    assert gauge("trail_etl_worker_rate_limit_effective", window_ms="62000") == 10
