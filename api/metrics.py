"""Prometheus metrics: requests by route, experiments by status, queue depth, workers.

Each app has its own registry, so building several apps (tests) never clashes.
Store-backed gauges are read from Redis when scraped; if Redis is down they
are left out and ``gradatlas_store_up`` is 0.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import StoreUnavailable
from core.store import Store


class ServiceMetrics:
    """The API's own Prometheus registry: its requests, and the store's gauges."""

    def __init__(self, store: Store, queue: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gradatlas_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gradatlas_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(store, queue))


class _StoreCollector(Collector):
    def __init__(self, store: Store, queue: str) -> None:
        self.store, self.queue = store, queue

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("gradatlas_store_up", "1 when Redis answered this scrape.")
        try:
            counts = self.store.counts()
            depth = self.store.queue_depth(self.queue)
            workers = len(self.store.alive_workers())
        except StoreUnavailable:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_status = GaugeMetricFamily(
            "gradatlas_experiments", "Experiments kept in the store, by status.", labels=["status"]
        )
        for status, n in counts.items():
            by_status.add_metric([status], n)
        yield by_status
        yield GaugeMetricFamily(
            "gradatlas_queue_depth", "Tasks waiting in the broker queue.", value=depth
        )
        yield GaugeMetricFamily(
            "gradatlas_workers_alive", "Workers with a fresh heartbeat.", value=workers
        )


#: Methods counted by name; any other a client invents is counted as ``other``, so
#: made-up method names never grow the label set.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): counts and times every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # The route template, not the path: ids must not become label values.
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
