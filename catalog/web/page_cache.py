"""Whole-page cache for anonymous GETs of the public pages and API.

The catalog is read-mostly: it changes only when an import or a curator changes it, and both bump
CatalogVersion. Pages are cached per worker under (version, full path), so a change shows on the
next request everywhere, while repeated views cost one indexed single-row query and a cache read.
Only responses that set no cookie and do not vary on the cookie (no CSRF token, no session) are
cached, so nothing personal is ever shared between visitors.
"""

import hashlib

from django.conf import settings
from django.core.cache import caches

from catalog.models import CatalogVersion

CACHED_PREFIXES = ("/admin", "/static")
# Bigger pages (the few rules with thousands of indicators) are rendered each time, so that
# MAX_ENTRIES pages per worker stay a bounded amount of memory.
MAX_CACHED_BYTES = 512 * 1024


def page_key(version: int, full_path: str) -> str:
    """The cache key of a page: the path hashed, so a long URL (keys over 250 characters make Django
    warn on every request) or one with spaces or control characters is a short, plain key too."""
    return f"page:{version}:{hashlib.sha256(full_path.encode('utf-8', errors='surrogatepass')).hexdigest()}"


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = getattr(settings, "CATALOG_PAGE_CACHE_SECONDS", 0)
        if not seconds or not self._cacheable_request(request):
            return self.get_response(request)
        cache = caches["pages"]
        key = page_key(CatalogVersion.current(), request.get_full_path())
        response = cache.get(key)
        if response is not None:
            response["X-Page-Cache"] = "hit"
            return response
        response = self.get_response(request)
        if self._cacheable_response(response):
            response["X-Page-Cache"] = "miss"
            cache.set(key, response, seconds)
        return response

    @staticmethod
    def _cacheable_request(request) -> bool:
        return (
            request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.path.startswith(CACHED_PREFIXES)
        )

    @staticmethod
    def _cacheable_response(response) -> bool:
        vary = response.get("Vary", "").lower()
        return (
            response.status_code == 200
            and not response.streaming
            and len(response.content) <= MAX_CACHED_BYTES
            and not response.cookies
            and "cookie" not in vary
        )
