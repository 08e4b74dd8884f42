"""Prometheus metrics: requests by view, method and status with latency histograms (django-prometheus's
middlewares, under their usual names), page and conversion cache hits and misses, match events
processed, and jobs by state.

Gunicorn runs several worker processes, each with its own counters: set PROMETHEUS_MULTIPROC_DIR to
an empty folder writable by every worker (and by the `db_worker` processes, which count the
events of uploaded files) and prometheus_client keeps every value in files there, which /metrics
adds up (catalog.operations.metrics_view). `make serve` empties the folder before starting gunicorn.
Without it each worker reports only its own requests.

Label values are bounded: the view is a URL pattern's name (or "<unresolved>"), the method one of
the standard ones (django-prometheus's own latency histogram would take any method a client sends),
the status a number, so no request can make the set of series grow.
"""

from __future__ import annotations

from django.urls import Resolver404, resolve
from django_prometheus import middleware as django_prometheus
from prometheus_client import Counter

PAGE_CACHE = Counter(
    "catalog_page_cache_requests_total",
    "Anonymous page and API requests answered from the page cache (hit), rendered and stored (miss), or "
    "answered 304 Not Modified from the catalog version alone (not_modified).",
    ["result"],
)
CONVERSION_CACHE = Counter(
    "catalog_conversion_cache_requests_total",
    "Rule conversions looked up in the conversions cache, found (hit) or converted afresh (miss).",
    ["result"],
)
MATCH_EVENTS = Counter(
    "catalog_match_events_total",
    "Events matched against the rules: posted to /match/ or /api/match/ (request) or read from an uploaded "
    "file by a match job (file).",
    ["via"],
)


def count_conversion_cache(hits: int, misses: int) -> None:
    if hits:
        CONVERSION_CACHE.labels("hit").inc(hits)
    if misses:
        CONVERSION_CACHE.labels("miss").inc(misses)


def count_match_events(events: int, via: str) -> None:
    if events:
        MATCH_EVENTS.labels(via).inc(events)


def _page_cache_result(response) -> str | None:
    if response.status_code == 304:
        return "not_modified"
    return {"hit": "hit", "miss": "miss"}.get(response.get("X-Page-Cache", ""))


PrometheusBeforeMiddleware = django_prometheus.PrometheusBeforeMiddleware


class PrometheusAfterMiddleware(django_prometheus.PrometheusAfterMiddleware):
    """Placed right after PrometheusBeforeMiddleware, so that every answer is counted by status and
    view, including those the page cache or the request checks give before any view runs; the
    view is then found from the path."""

    def _get_view_name(self, request):
        match = getattr(request, "resolver_match", None)
        if match is None:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return "<unresolved>"
        return match.view_name or "<unnamed view>"

    def label_metric(self, metric, request, response=None, **labels):
        if "method" in labels:
            labels["method"] = self._method(request)  # one of the standard methods or "<invalid method>"
        return super().label_metric(metric, request, response, **labels)

    def process_response(self, request, response):
        result = _page_cache_result(response)
        if result:
            PAGE_CACHE.labels(result).inc()
        return super().process_response(request, response)
