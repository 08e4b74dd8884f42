"""Test support: record which query parameters a request reads, to hold each view to its declaration.

The page cache lets only a view's declared parameters through (catalog.platform.parameters); a parameter a
view reads without declaring it works while the cache is off and is dropped silently in production.
ParameterReadsMiddleware (added after the page cache's middleware by the `parameter_reads` fixture)
gives the request a QueryDict that records every name asked for (`get`, `getlist`, `[...]`, `in`),
in copies too, so reads anywhere during the request count: the view, a query function, a template
tag, a streamed body read later.
"""

from __future__ import annotations

from django.http import QueryDict
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from catalog.platform.parameters import declaration_of
from tests.constants import CERTUTIL_ID

PROBE = "undeclared_probe"  # a parameter no view declares
MIDDLEWARE = "tests.parameter_reads.ParameterReadsMiddleware"
AFTER = "catalog.platform.page_cache.PageCacheMiddleware"


class RecordingQueryDict(QueryDict):
    """A QueryDict whose named reads are added to `reads` (a set shared with its copies)."""

    reads: set[str] | None = None  # None while QueryDict builds itself (its own lookups are not reads)

    @classmethod
    def recording(cls, query_string: str, reads: set[str]) -> RecordingQueryDict:
        query = cls(query_string)
        query.reads = reads
        return query

    def _record(self, key) -> None:
        if self.reads is not None and isinstance(key, str):
            self.reads.add(key)

    def __getitem__(self, key):
        self._record(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._record(key)
        return super().__contains__(key)

    def get(self, key, default=None):
        self._record(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        self._record(key)
        return super().getlist(key, default)

    def setlistdefault(self, key, default_list=None):  # appendlist's: a write, not a read
        reads, self.reads = self.reads, None
        try:
            return super().setlistdefault(key, default_list)
        finally:
            self.reads = reads

    def __copy__(self):
        result = super().__copy__()
        result.reads = self.reads
        return result

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.reads = self.reads
        return result


class ParameterReadsMiddleware:
    """Gives each request a RecordingQueryDict; `request.parameter_reads` lists what it read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reads: set[str] = set()
        request.GET = RecordingQueryDict.recording(request.META.get("QUERY_STRING", ""), reads)
        request.parameter_reads = reads
        return self.get_response(request)


def undeclared_reads(request) -> set[str]:
    """The names the request read that its view does not declare (empty for a view without a
    declaration: it is never cached, so nothing is dropped before it)."""
    try:
        declaration = declaration_of(resolve(request.path_info).func)
    except Resolver404:
        return set()
    if declaration is None:
        return set()
    return set(request.parameter_reads) - declaration.names


def with_recording(middleware: list[str]) -> list[str]:
    """The MIDDLEWARE setting with ParameterReadsMiddleware right after the page cache's."""
    middleware = [name for name in middleware if name != MIDDLEWARE]
    return [*middleware[: middleware.index(AFTER) + 1], MIDDLEWARE, *middleware[middleware.index(AFTER) + 1 :]]


def declared_routes(patterns=None, prefix="", namespace=""):
    """(URL name, route, view) for every view that declares its parameters."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from declared_routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern) and declaration_of(entry.callback) is not None:
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), entry.callback


def sample_arguments() -> dict:
    """A value for each URL argument, naming something the example rules (the test database) have."""
    from catalog.models import Indicator

    indicator = Indicator.objects.filter(corpus_count__gt=0).order_by("-corpus_count", "pk").first()
    return {
        "rule_uuid": CERTUTIL_ID,
        "uuid": CERTUTIL_ID,
        "pk": indicator.pk,
        "name": "Image",
        "technique_id": "T1059.001",
        "shortname": "execution",
        "provider": "Sysmon",
        "event": "1",
        "event_id": "1",
        "filename": "splunk.conf",
    }


def sample_url(route: str, arguments: dict) -> str:
    """The route's path with each argument filled in (a KeyError names a route that needs a sample)."""
    path = route
    for name in RoutePattern(route).converters:
        for converter in ("uuid", "int", "str", "path", ""):
            token = f"<{converter}:{name}>" if converter else f"<{name}>"
            path = path.replace(token, str(arguments[name]))
    return "/" + path
