"""Which query parameters each public page reads: the page cache's key is the path and those alone.

Before, the key was the full URL, so `?utm=1`, `?utm=2`, ... each rendered and stored the same page
again (2,000 such requests grew a worker by 300 MB). Now, for an anonymous GET, the parameters a page
does not know are dropped before the view runs (the view never sees them, so the page is exactly
what its key says). A page not listed here is cached
only when it has no query string at all. The API's list endpoints answer unknown parameters with a
400 (catalog.api.strict), which is never cached, so they keep every parameter.
"""

from __future__ import annotations

import hashlib
from functools import cache

from django.http import QueryDict
from django.urls import Resolver404, resolve

from catalog.api.strict import StrictListAPIView

ALL = None  # the view rejects unknown parameters itself (400, never cached): keep them all
PAGE = ("page",)
CONVERSION = ("target", "pipeline")


@cache
def page_parameters() -> dict[str, tuple[str, ...] | None]:
    """URL name -> the query parameters its page reads (derived from the FilterSets where it has one)."""
    from catalog.queries.fields import LOGSOURCE_KEYS
    from catalog.queries.filters import RuleFilterSet
    from catalog.queries.indicator_search import IndicatorFilterSet
    from catalog.web.changes import CHANGES_PARAMETERS
    from catalog.web.rule_indicators import INDICATOR_PAGE_PARAMETERS

    rule_filters = tuple(RuleFilterSet.base_filters)
    return {
        "overview": (),
        "rule-list": rule_filters + PAGE,
        "rules-csv": rule_filters,
        "attack-navigator": rule_filters,
        "siem-export": rule_filters + CONVERSION,
        "rule-detail": CONVERSION,
        "rule-indicators": INDICATOR_PAGE_PARAMETERS,
        "rule-yaml": (),
        "rule-layer": (),
        "rule-csv": (),
        "indicator-list": tuple(IndicatorFilterSet.base_filters) + PAGE,
        "indicator-detail": PAGE + ("excluded_page",),
        "field-list": LOGSOURCE_KEYS,
        "field-detail": PAGE + ("rules_page",),
        "attack-matrix": ("uncovered",),
        "tactic-detail": (*PAGE, "uncovered"),
        "technique-detail": PAGE,
        "event-list": (),
        "event-detail": PAGE,
        "logsource-list": (),
        "changes": CHANGES_PARAMETERS,
        "changes-feed": (),
        "api-changes": ALL,
        # The API's single objects and documents: DRF's renderer choice, and the conversion's own.
        "api:root": ("format",),
        "api:rule-detail": ("format",),
        "api:rule-query": (*CONVERSION, "format"),
        "api:targets": ("format",),
        "api:indicator-detail": ("format",),
        "api:field-detail": ("format",),
        "api:technique-detail": ("format",),
        "api:tactic-detail": ("format",),
        "api:event-detail": ("format",),
        "api:schema": ("format", "lang"),
        "api:docs": ("script", "lang"),
        # Telemetry coverage (catalog/telemetry): a profile is its events and log sources.
        "coverage": ("events", "logsources", "uncovered"),
        "coverage-rules": ("events", "logsources", "class", "page"),
        "coverage-navigator": ("events", "logsources"),
        "coverage-csv": ("events", "logsources"),
        "api-coverage": ALL,  # refuses unknown parameters itself (a 400, never cached)
        "rule-test-events": (),
        "api-rule-test-events": (),
    }


def normalised_query(request) -> str | None:
    """The query string of a public GET with only the page's known parameters; None: not cacheable.

    Their order is kept: a page may read it (the "without <filter>" link drops the filter added last).
    """
    raw = request.META.get("QUERY_STRING", "")
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return "" if not raw else None
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    known = (
        ALL
        if isinstance(view_class, type) and issubclass(view_class, StrictListAPIView)
        else page_parameters().get(match.view_name, ())
    )
    if match.view_name not in page_parameters() and known is not ALL:
        return None  # not a catalog page (e.g. a match job's status, which changes by itself): never cached
    pairs = [(name, value) for name, values in request.GET.lists() for value in values]
    if known is not ALL:
        pairs = [(name, value) for name, value in pairs if name in known]
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
