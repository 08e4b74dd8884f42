"""Test support: record which query parameters a request reads, to hold each view to its declaration.

The page cache lets only a view's declared parameters through (catalog.parameters); a parameter a
view reads without declaring it works while the cache is off and is dropped silently in production.
ParameterReadsMiddleware (added after the page cache's middleware by the `parameter_reads` fixture)
gives the request a QueryDict that records every name asked for (`get`, `getlist`, `[...]`, `in`),
in copies too, so reads anywhere during the request count: the view, a query function, a template
tag, a streamed body read later.
"""

from __future__ import annotations

from django.http import QueryDict
from django.urls import Resolver404, resolve

from catalog.parameters import declaration_of

MIDDLEWARE = "tests.parameter_reads.ParameterReadsMiddleware"
AFTER = "catalog.web.page_cache.PageCacheMiddleware"


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
