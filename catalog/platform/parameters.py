"""Each view declares the query parameters it reads; the page cache and the API's checks read that.

The declaration sits on the view (`@reads_parameters(...)` on a function, `query_parameters = ...` on
a class), so a page's parameters are written once, beside the code that reads them:

- the page cache (catalog.platform.cache_keys) keys an anonymous GET by the path and the declared
  parameters alone, and drops the others before the view runs (`?utm=1`, `?utm=2`... are one
  page); a view without a declaration is not a catalog page (a match job's status changes by
  itself) and is never cached;
- a view that answers unknown parameters with a 400 itself (`refuses_others`: the API's lists,
  catalog.platform.api_strict) keeps every parameter in its key: the 400 is never cached;
- tests/parameter_reads.py fails a test when a request reads a parameter its view did not declare,
  wherever the read happens (the view, a query function, a template tag).

This module imports nothing of the catalog: any layer may declare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

ATTRIBUTE = "query_parameters"


@dataclass(frozen=True)
class Declaration:
    names: frozenset[str]
    # The view answers a parameter outside `names` with a 400 itself (never cached): the cache keeps them all.
    refuses_others: bool = False

    def kept(self, name: str) -> bool:
        """Whether the page cache lets `name` reach the view."""
        return self.refuses_others or name in self.names


def declare(names: Iterable[str], refuses_others: bool = False) -> Declaration:
    names = tuple(names)
    if any(not isinstance(name, str) or not name for name in names):
        raise TypeError(f"query parameter names must be non-empty strings: {names!r}")
    return Declaration(frozenset(names), refuses_others)


def reads_parameters(*names: str, refuses_others: bool = False) -> Callable:
    """Decorate a view function (outermost, above @api_view) with the query parameters it reads."""
    declaration = declare(names, refuses_others)

    def decorate(view):
        setattr(view, ATTRIBUTE, declaration)
        return view

    return decorate


def declaration_of(view) -> Declaration | None:
    """The declaration of a resolved view (`resolve(path).func`): on the function, else on its class
    (`view_class` of a Django class-based view, `cls` of a DRF view); None when it has none."""
    for holder in (view, getattr(view, "view_class", None), getattr(view, "cls", None)):
        declaration = getattr(holder, ATTRIBUTE, None) if holder is not None else None
        if isinstance(declaration, Declaration):
            return declaration
    return None
