"""The page cache's key: the path and the query parameters its view declares (catalog.platform.parameters).

Before, the key was the full URL, so `?utm=1`, `?utm=2`, ... each rendered and stored the same page
again (2,000 such requests grew a worker by 300 MB). Now, for an anonymous GET, the parameters the
page's view does not declare are dropped before the view runs (the view never sees them, so the page
is exactly what its key says). A view without a declaration is never cached. A view that answers
unknown parameters with a 400 itself (the API's lists, catalog.platform.api_strict; /api/changes/,
/api/coverage/) keeps every parameter: the 400 is never cached.
"""

from __future__ import annotations

import hashlib

from django.http import QueryDict
from django.urls import Resolver404, resolve

from catalog.platform.parameters import Declaration, declaration_of


def view_declaration(path: str) -> Declaration | None:
    """The declaration of the view that answers `path`; None: no such view, or it declares nothing."""
    try:
        return declaration_of(resolve(path).func)
    except Resolver404:
        return None


def normalised_query(request) -> str | None:
    """The query string of a public GET with only the page's known parameters; None: not cacheable.

    Their order is kept: a page may read it (the "without <filter>" link drops the filter added last).
    """
    raw = request.META.get("QUERY_STRING", "")
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return "" if not raw else None
    declaration = declaration_of(match.func)
    if declaration is None:
        return None  # not a catalog page (e.g. a match job's status, which changes by itself): never cached
    pairs = [(name, value) for name, values in request.GET.lists() for value in values if declaration.kept(name)]
    query = QueryDict(mutable=True)
    for name, value in pairs:
        query.appendlist(name, value)
    return query.urlencode()


def use_query(request, query: str) -> None:
    """Make the view see `query` only (what the cache key says the page is)."""
    if query != request.META.get("QUERY_STRING", ""):
        request.META["QUERY_STRING"] = query
        request.GET = QueryDict(query)


def representation(request) -> str:
    """Which representation a path answers with: HTML pages have one; the API's depends on Accept."""
    if not request.path.startswith("/api/"):
        return "page"
    accept = request.META.get("HTTP_ACCEPT", "").replace(" ", "").lower()
    if not accept or accept in ("*/*", "application/json"):
        return "json"
    if accept.startswith("text/html"):  # a browser: DRF's browsable API
        return "html"
    return hashlib.sha256(accept.encode("utf-8", errors="replace")).hexdigest()[:12]


def page_key(version: int, origin: str, path: str, query: str, variant: str) -> str:
    """The cache key: version, then the URL hashed (a long URL stays a short, plain key)."""
    url = f"{origin}{path}?{query}#{variant}"
    return f"page:{version}:{hashlib.sha256(url.encode('utf-8', errors='surrogatepass')).hexdigest()}"
