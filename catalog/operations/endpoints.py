"""The operations endpoints, answered ahead of the site's own middlewares.

Probes and Prometheus reach each node by its own address (Host: 10.1.2.3:8000) and over plain HTTP:
ALLOWED_HOSTS would answer 400, SECURE_SSL_REDIRECT a 301 (which a Kubernetes probe counts as a
success, hiding a 503) and the page cache reads the database before any view runs. So this
middleware, placed right after the metrics and request-log middlewares, answers GET and HEAD of these
paths itself. config/urls.py maps the same paths to the same views (for reverse() and metric labels).
"""

from __future__ import annotations

from catalog.operations.health import health_live, health_ready
from catalog.operations.metrics_view import metrics

ENDPOINTS = {"/health/live/": health_live, "/health/": health_ready, "/metrics": metrics}


class OperationsEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ENDPOINTS.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
