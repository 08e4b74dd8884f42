"""Structured logs: one JSON object per request (CATALOG_LOG_FORMAT=json), and every other log line as
JSON too, one per line, for a log shipper to read without parsing text.

RequestLogMiddleware (first in MIDDLEWARE, so it sees every answer, the cached and refused ones too)
logs each request to the `catalog.requests` logger: method, path, status, duration in ms, the view's
URL name and the client's address (REMOTE_ADDR, or X-Forwarded-For behind CATALOG_NUM_PROXIES
proxies, as the rate limits take it). The logger is at INFO only when the format is json, so by
default nothing is built or written (runserver and gunicorn keep their own access logs).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from django.urls import Resolver404, resolve
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger("catalog.requests")

# LogRecord attributes that are not "extra" fields given to the logging call.
STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the extra fields, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in STANDARD_ATTRIBUTES and k not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # ASCII only: any character a path or message holds (newlines, NUL, lone surrogates) is escaped.
        return json.dumps(entry, default=str, ensure_ascii=True)


def view_name(request) -> str | None:
    """The URL pattern's name; None for a path no pattern matches."""
    match = getattr(request, "resolver_match", None)
    if match is None:  # answered before URL resolution (page cache, request checks, probes)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
    return match.view_name or None


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not logger.isEnabledFor(logging.INFO):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "view": view_name(request),
                "client": BaseThrottle().get_ident(request),
            },
        )
        return response
