"""/metrics for Prometheus, refused unless the operator allowed it.

Secure by default: with neither CATALOG_METRICS_TOKEN nor CATALOG_METRICS_ALLOWED_ADDRESSES set,
every request gets 403 (the metrics show the site's traffic and its job queue). With the token set a
scrape must send `Authorization: Bearer <token>` (compared in constant time); with addresses set
(IPs or networks) the client must be one of them, its address taken like the rate limits take it
(REMOTE_ADDR, or X-Forwarded-For behind CATALOG_NUM_PROXIES proxies). With both set, both apply.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from rest_framework.throttling import BaseThrottle

from catalog.operations.queue import queue_state

logger = logging.getLogger("catalog.metrics")


def client_address(request) -> str:
    """The client's address as the rate limits see it (NUM_PROXIES honoured)."""
    return BaseThrottle().get_ident(request)


def refusal(request) -> str:
    """Why this request may not read the metrics ("" if it may)."""
    token = settings.CATALOG_METRICS_TOKEN
    networks = settings.CATALOG_METRICS_ALLOWED_ADDRESSES
    if not token and not networks:
        return "/metrics is off: set CATALOG_METRICS_TOKEN or CATALOG_METRICS_ALLOWED_ADDRESSES to allow scrapes."
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credential = sent.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credential.strip().encode("utf-8", "surrogatepass"), token.encode("utf-8")
        ):
            return "/metrics needs the metrics token (Authorization: Bearer ...)."
    if networks and not address_allowed(client_address(request), networks):
        return "/metrics is not allowed from this address."
    return ""


def address_allowed(address: str, networks: list[str]) -> bool:
    try:
        client = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(network, strict=False) for network in networks)


class JobsCollector:
    """Jobs by kind and state, and the oldest queued job's age, read from the queue at scrape time
    (so every worker reports the same numbers, and none has to keep them)."""

    def collect(self):
        try:
            state = queue_state()
        except DatabaseError as exc:
            logger.warning("metrics: the job queue could not be read: %s", exc)
            yield GaugeMetricFamily("catalog_jobs_queue_up", "Whether the job queue could be read.", value=0)
            return
        yield GaugeMetricFamily("catalog_jobs_queue_up", "Whether the job queue could be read.", value=1)
        jobs = GaugeMetricFamily("catalog_jobs", "Background jobs by kind and state.", labels=["kind", "state"])
        age = GaugeMetricFamily(
            "catalog_jobs_oldest_queued_age_seconds",
            "How long the oldest queued job of each kind has waited (0 when none is queued).",
            labels=["kind"],
        )
        for kind, counts in state.jobs.items():
            for job_state, count in counts.items():
                jobs.add_metric([kind, job_state], count)
            age.add_metric([kind], state.oldest_queued_seconds[kind] or 0.0)
        yield jobs
        yield age


class _ProcessMetrics:
    """This process's own registry, as one collector of the scrape's registry."""

    def collect(self):
        return REGISTRY.collect()


def scrape() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every worker's values, added up
    else:
        registry.register(_ProcessMetrics())
    registry.register(JobsCollector())
    return generate_latest(registry)


def metrics(request):
    problem = refusal(request)
    if problem:
        response = HttpResponse(problem, status=403, content_type="text/plain; charset=utf-8")
    else:
        response = HttpResponse(scrape(), content_type=CONTENT_TYPE_PLAIN_0_0_4)  # read by every Prometheus version
    add_never_cache_headers(response)
    return response
