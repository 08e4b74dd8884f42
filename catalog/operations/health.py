"""Health probes: /health/live/ (the process answers) and /health/ (it can serve: databases, caches
and the job queue all answer).

/health/ answers JSON with each component's status, 200 when every one is up and 503 when one is
down, so a load balancer or Kubernetes readiness probe takes the node out until it recovers.
/health/live/ touches nothing outside the process: a liveness probe must not restart workers because
the database is away.

Why not django-health-check: its 4.x line answers 500 (not 503) and names checks by their repr, its
view is async (sync checks then run in executor threads, each with its own database connection), and
its releases from 4.9 on need Python 3.14. The checks here are a few lines each.

Both are answered before the other middlewares (catalog.operations.endpoints): probes come from the
load balancer or the kubelet, by the node's own address and over plain HTTP, so ALLOWED_HOSTS, the
HTTPS redirect and the page cache (which reads the database first) must not stand in their way.
They are never cached and never throttled. A component that is down is named with its
error's type only; the message (hosts, ports, database names) goes to the log, not to the public.
"""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

from catalog.operations.queue import queue_problem, queue_state

logger = logging.getLogger("catalog.health")


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        details = check() or {}
    except Exception as exc:  # noqa: BLE001 - any failure means the component is down, whatever it is
        logger.warning("health check failed: %s: %s", type(exc).__name__, exc)
        details = {"status": "down", "error": type(exc).__name__}
    details.setdefault("status", "up")
    details["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return details


def database_connections():
    """The connections /health/ checks: every configured database."""
    return [connections[alias] for alias in connections]


def check_database(connection) -> dict:
    # A connection a failure broke is dropped at the end of the request (Django's close_old_connections),
    # so the next probe connects afresh.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def check_cache(alias: str) -> dict:
    """A write, a read and a delete of a key of its own (so concurrent probes never collide)."""
    cache = caches[alias]
    key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, 30)
    read = cache.get(key)
    cache.delete(key)
    if read != value:
        return {"status": "down", "error": "the value written was not read back"}
    return {}


def check_queue() -> dict:
    state = queue_state()
    problem = queue_problem(state)
    details = {
        "queued": {kind: counts["queued"] for kind, counts in state.jobs.items()},
        "running": {kind: counts["running"] for kind, counts in state.jobs.items()},
        "oldest_queued_seconds": state.oldest_queued_seconds,
    }
    if problem:
        details.update(status="down", error=problem)
    return details


def readiness() -> dict:
    components = {}
    for connection in database_connections():
        components[f"database:{connection.alias}"] = _timed(lambda c=connection: check_database(c))
    for alias in settings.CACHES:
        components[f"cache:{alias}"] = _timed(lambda a=alias: check_cache(a))
    components["queue"] = _timed(check_queue)
    down = [name for name, details in components.items() if details["status"] != "up"]
    return {"status": "down" if down else "up", "down": down, "components": components}


def _answer(body: dict, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    return response


def health_live(request):
    return _answer({"status": "up"}, 200)


def health_ready(request):
    body = readiness()
    return _answer(body, 200 if body["status"] == "up" else 503)
