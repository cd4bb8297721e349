"""Prometheus metrics of one app instance, in a registry of its own (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "weather_service_http_requests",
            "HTTP requests served, by route template, method and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "weather_service_http_request_duration_seconds",
            "Time from request start to the end of the response, by route template and method.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.items_received = Counter(
            "weather_service_items_received",
            "Items in accepted write requests, by kind (locations, weather, conditions).",
            ["kind"],
            registry=self.registry,
        )
        self.rows_written = Counter(
            "weather_service_rows_written",
            "Rows inserted or changed by write requests, by kind.",
            ["kind"],
            registry=self.registry,
        )

    def observe_request(self, *, method: str, route: str, status: int, duration_s: float) -> None:
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.latency.labels(method=method, route=route).observe(duration_s)

    def observe_write(self, kind: str, *, received: int, written: int) -> None:
        self.items_received.labels(kind=kind).inc(received)
        self.rows_written.labels(kind=kind).inc(written)
