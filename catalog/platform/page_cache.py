"""Whole-page cache and HTTP caching for anonymous GETs of the public pages and API.

The catalog is read-mostly: it changes only when an import or a curator changes it, and both bump
CatalogVersion. So every anonymous answer is a function of (catalog version, path, the page's known
query parameters, representation):

- Pages are cached under that key (catalog.platform.cache_keys), in each worker's memory by default (a
  byte-bounded LRU, catalog.platform.byte_cache) or in Redis shared by every node
  (CATALOG_PAGE_CACHE=shared). A change shows on the next request everywhere: the version is read
  from the database (one indexed single-row query) on every request.
- With the cache on (CATALOG_PAGE_CACHE_SECONDS > 0, the default), responses carry `ETag` (the
  version and representation) and `Last-Modified` (when the catalog last changed), with
  `Cache-Control: public, max-age=CATALOG_HTTP_MAX_AGE, must-revalidate` and `Vary: Cookie`, so a
  reverse proxy or CDN may keep them; a conditional GET is answered 304 without rendering anything.
- Nothing personal is shared: a request with a session or messages cookie or an Authorization header
  is never served from or stored in the cache, and a response that sets a cookie, uses a CSRF token or
  varies on the cookie is sent `Cache-Control: private, no-store` (as is every answer to a signed-in
  visitor).
"""

from __future__ import annotations

import gzip

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import http_date, parse_etags, parse_http_date_safe

from catalog.models import CatalogVersion
from catalog.platform import cache_keys

NOT_CACHED_PREFIXES = ("/admin", "/static")
PERSONAL_COOKIES = ("messages",)  # besides the session cookie: a cookie whose content a page may show
# Bigger pages are rendered each time (they are rare once long indicator tables are paginated).
MAX_CACHED_BYTES = 1024 * 1024
# Headers a cached entry keeps (the rest are added again on the way out by the middlewares above).
KEPT_HEADERS = ("content-type", "content-disposition", "content-language", "x-frame-options", "vary", "allow")


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _public_request(request):
            return _mark_personal(request, self.get_response(request), always=_signed_in(request))
        query = cache_keys.normalised_query(request)
        if query is None:
            return _mark_personal(request, self.get_response(request))
        cache_keys.use_query(request, query)
        seconds = getattr(settings, "CATALOG_PAGE_CACHE_SECONDS", 0)
        if not seconds:  # caching off: no version read, no validators (pages cost their own queries only)
            return _mark_personal(request, self.get_response(request))
        version, changed_at = CatalogVersion.state()
        # The page's fragments and the rule index use it (catalog.platform.fragments.state): no second read.
        request.catalog_version, request.catalog_state = version, (version, changed_at)
        variant = cache_keys.representation(request)
        etag = f'W/"{version}-{variant}"'
        modified = int(changed_at.timestamp()) if changed_at else None
        if _not_modified(request, etag, modified):
            return _public_headers(HttpResponseNotModified(), etag, modified)
        key = cache_keys.page_key(version, _origin(request), request.path, query, variant)
        stored = caches["pages"].get(key)
        if stored is not None:
            response = _from_stored(stored, request)
            response["X-Page-Cache"] = "hit"
            return _public_headers(response, etag, modified)
        response = self.get_response(request)
        if not _public_response(request, response):
            return _mark_personal(request, response)
        if _storable(response, variant):
            response["X-Page-Cache"] = "miss"
            caches["pages"].set(key, _to_stored(response), seconds)
        return _public_headers(response, etag, modified)


def _signed_in(request) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "HTTP_AUTHORIZATION" in request.META


def _public_request(request) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and not _signed_in(request)
        and not any(name in request.COOKIES for name in PERSONAL_COOKIES)
        and not request.path.startswith(NOT_CACHED_PREFIXES)
    )


def _public_response(request, response) -> bool:
    """An answer any anonymous visitor would get alike (whether or not it is worth keeping)."""
    return (
        response.status_code == 200
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_USED")
        and "cookie" not in response.get("Vary", "").lower()
        and "Cache-Control" not in response
    )


def _storable(response, variant: str) -> bool:
    if response.streaming or len(response.content) > MAX_CACHED_BYTES:
        return False
    html = response.get("Content-Type", "").startswith("text/html")
    # The two common API representations are keyed by name: keep only what the name says.
    return {"html": html, "json": not html}.get(variant, True)


def _mark_personal(request, response, always: bool = False):
    """`private, no-store` on anything personal (unless the view chose its own Cache-Control)."""
    personal = always or response.cookies or request.META.get("CSRF_COOKIE_USED")
    personal = personal or "cookie" in response.get("Vary", "").lower()
    if personal and "Cache-Control" not in response:
        add_never_cache_headers(response)
        response["Cache-Control"] = "private, no-store, no-cache, max-age=0, must-revalidate"
    return response


def _public_headers(response, etag: str, modified: int | None):
    max_age = getattr(settings, "CATALOG_HTTP_MAX_AGE", 60)
    response["Cache-Control"] = f"public, max-age={max_age}, must-revalidate"
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(modified)
    # A shared cache must not give it to a signed-in visitor, nor a gzipped body to a client without gzip.
    patch_vary_headers(response, ("Cookie", "Accept-Encoding"))
    return response


def _not_modified(request, etag: str, modified: int | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match (weak comparison) decides; If-Modified-Since only without it."""
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        wanted = {tag.removeprefix("W/") for tag in parse_etags(if_none_match)}
        return "*" in wanted or etag.removeprefix("W/") in wanted
    since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
    return since is not None and modified is not None and modified <= since


def _origin(request) -> str:
    """Scheme and host: pages and API answers contain absolute links built from them."""
    return f"{request.scheme}://{request.get_host()}"


def _to_stored(response) -> tuple:
    """(status, headers, gzipped body): compact in memory or Redis, and sent as is to gzip clients."""
    headers = [(name, value) for name, value in response.items() if name.lower() in KEPT_HEADERS]
    return (response.status_code, headers, gzip.compress(response.content, compresslevel=5, mtime=0))


def _from_stored(stored: tuple, request) -> HttpResponse:
    status, headers, body = stored
    if "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "").lower():
        response = HttpResponse(body, status=status)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(gzip.decompress(body), status=status)
    for name, value in headers:
        response[name] = value
    response["Content-Length"] = str(len(response.content))
    return response
