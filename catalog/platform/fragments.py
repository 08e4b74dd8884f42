"""Per-catalog-version fragments: HTML that depends on the catalog alone, rendered once per catalog version.

A rule's row in a rule table, the unfiltered rule list's facet block and the rule page's sections are the
same for every visitor and every query until an import or a curator changes the catalog, which bumps
CatalogVersion. They are kept in the "fragments" cache (each worker's memory, byte-bounded, by default;
Redis shared by every worker and node with CATALOG_PAGE_CACHE=shared) under keys that start with the
version, so a change shows on the next request everywhere and an old version's fragments simply age out.
A page that misses the page cache (a new search, a new filter) then renders only what is new to it.

CATALOG_FRAGMENT_SECONDS=0 turns fragments off (every fragment rendered each time: the cold figures of
`benchmarks.scale_bench`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import caches

from catalog.models import CatalogVersion

ALIAS = "fragments"


def enabled() -> bool:
    return getattr(settings, "CATALOG_FRAGMENT_SECONDS", 0) > 0


def version(request) -> int:
    """The catalog version this request renders, read once per request (the page cache middleware
    leaves the one it read on the request: no second query)."""
    known = getattr(request, "catalog_version", None)
    return known if known is not None else state(request)[0]


def state(request) -> tuple:
    """The catalog version's (number, time) this request renders, read once per request (the page cache
    middleware leaves it on the request); what per-version data in a process is kept under
    (catalog.browse.queries.rule_index)."""
    known = getattr(request, "catalog_state", None)
    if known is None:
        known = CatalogVersion.state()
        if request is not None:
            request.catalog_state, request.catalog_version = known, known[0]
    return known


def key(catalog_version: int, name: str, *parts) -> str:
    """`frag:<version>:<name>:<parts>`; long parts (a query string) hashed so the key stays short and plain."""
    text = ":".join(str(part) for part in parts)
    if len(text) > 64 or not text.isascii() or any(c.isspace() for c in text):
        text = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    return f"frag:{catalog_version}:{name}:{text}"


def get_many(keys: Iterable[str]) -> dict:
    """The stored fragments among `keys` (one cache round trip); nothing when fragments are off."""
    keys = list(keys)
    if not keys or not enabled():
        return {}
    return caches[ALIAS].get_many(keys)


def set_many(values: dict) -> None:
    if values and enabled():
        caches[ALIAS].set_many(values, settings.CATALOG_FRAGMENT_SECONDS)


def cached(fragment_key: str, render: Callable[[], object]):
    """The fragment stored under `fragment_key`, else `render()`'s result, stored."""
    found = get_many([fragment_key])
    if fragment_key in found:
        return found[fragment_key]
    value = render()
    set_many({fragment_key: value})
    return value
