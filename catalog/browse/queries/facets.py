"""The rule list's facets: every choice of every filter with the number of rules it would leave."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlencode

from django.http import QueryDict

from catalog.browse.queries import facet_counts
from catalog.browse.queries.filtersets import RuleFilterSet
from catalog.browse.queries.rules import cleaned, matches
from catalog.platform import fragments

FACET_LIMIT = 40  # choices shown per facet (the most frequent; active ones always)


@dataclass
class FacetChoice:
    value: str
    label: str
    count: int
    active: bool = False
    href: str = ""  # the current query with this choice set (or, when active, removed)


@dataclass
class Facet:
    name: str  # the RuleFilterSet parameter this facet sets
    label: str
    choices: list[FacetChoice] = field(default_factory=list)
    total: int = 0  # distinct choices before the cut to FACET_LIMIT


FACETS = [
    ("status", "Status"),
    ("level", "Level"),
    ("product", "Product"),
    ("category", "Category"),
    ("service", "Service"),
    ("tactic", "Tactic"),
    ("technique", "Technique"),
    ("tag", "Tag"),
    ("author", "Author"),
    ("source", "Source"),
    ("quality", "Quality"),
    ("has_test_events", "Test events"),
    ("retired", "Retired"),
]


def rule_facets(filterset: RuleFilterSet) -> list[Facet]:
    """Counts beside every choice of every facet of a whole-catalog rule list (rules.rule_filterset).

    A count is the number of rules matching the current filters that also have that choice, so
    following a choice's link leads to exactly that many rules. Values of one facet are OR-ed, so
    the choices of a facet in use are counted without that facet's own filter (the rules a second
    value's link adds). The unfiltered list's counts are read from the summary table; any other list's
    are counted over its rules' ids with the rule index (catalog.browse.queries.facet_counts), exactly,
    whatever the number of rules it matches.
    """
    data = cleaned(filterset)
    active = {name: _active_values(data.get(name)) for name, _ in FACETS}
    wanted_retired = data.get("retired")
    names = [name for name, _ in FACETS]
    counted = _counts(filterset, names, wanted_retired)
    for name in names:
        if active[name] and name != "retired":  # OR-ed: this facet's choices are counted without its own filter
            counted[name] = _counts(filterset, [name], wanted_retired, without=name)[name]
    facets = []
    for name, label in FACETS:
        choices = [
            FacetChoice(str(v), shown_label(name, v, lbl), n, str(v).lower() in active[name])
            for v, lbl, n in counted[name]
            if v not in ("", None)
        ]
        shown = [c for i, c in enumerate(choices) if i < FACET_LIMIT or c.active]
        _link(shown, name, filterset.data)
        facets.append(Facet(name, label, shown, len(choices)))
    return facets


def fragment_key(request, filterset: RuleFilterSet) -> str:
    """The fragments-cache key of the list's facet block when it depends on the catalog alone (the whole
    live catalog, counted by the summary tables: catalog.platform.fragments), else ''. The block's links
    carry the rest of the query (a sort), so the query without its page is part of the key."""
    data = filterset.data
    if not getattr(filterset, "whole_catalog", False) or _narrowing(data) or "retired" in data:
        return ""
    rest = data.copy() if hasattr(data, "copy") else dict(data)
    rest.pop("page", None)
    query = rest.urlencode() if hasattr(rest, "urlencode") else urlencode(rest, doseq=True)
    return fragments.key(fragments.version(request), "rule-facets", query)


def shown_label(name: str, value, label: str) -> str:
    """What a choice reads as: a technique is "T1059.001 PowerShell", other choices their label."""
    if name == "technique":
        return f"{value} {label}".strip()
    return label


def _link(choices: list[FacetChoice], name: str, query) -> None:
    """Each choice's link: the current query (back on page 1) with the choice added to `name`'s values
    (several values of one facet are OR-ed), or, when active, with just that value removed.

    Built here once per facet rather than per choice in the template: a list page has hundreds.
    """
    if isinstance(query, QueryDict):  # a page's query, read as QueryDict.urlencode would write it, without a deep copy
        current = query.getlist(name)
        rest = urlencode([(k, v) for k, values in query.lists() if k not in ("page", name) for v in values])
    else:
        params = dict(query)
        params.pop("page", None)
        current = _as_list(params.pop(name, None))
        rest = urlencode(params, doseq=True)
    joiner = "&" if rest else ""
    # urlencode's own encoding (quote_plus) of `name=value`, the current values encoded once for all the choices
    key, kept = quote_plus(name), urlencode({name: current}, doseq=True)
    for choice in choices:
        if choice.active:
            encoded = urlencode({name: [v for v in current if v.lower() != choice.value.lower()]}, doseq=True)
        elif name in ("retired", "has_test_events"):  # yes/no facets: a second value would be contradictory
            encoded = f"{key}={quote_plus(choice.value)}"
        else:
            encoded = (kept + "&" if kept else "") + f"{key}={quote_plus(choice.value)}"
        choice.href = "?" + rest + (joiner + encoded if encoded else "")


def _as_list(value) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _without(data, name: str):
    data = data.copy()
    data.pop(name, None)
    return data


def _counts(filterset: RuleFilterSet, names: list[str], wanted_retired, without: str | None = None):
    """The facet counts of the rules matching the filterset's filters (but `without`): over the whole live
    catalog they are read from the summary table (catalog.publishing.summaries: a few hundred rows, whatever
    the corpus size), else counted over the matching rules' ids."""
    data = _without(filterset.data, without) if without else filterset.data
    if wanted_retired is None and not _narrowing(data):
        return facet_counts.summary_counts(names)
    found = matches(filterset)
    return facet_counts.counts(found.index, found.mask(without=without), names, wanted_retired)


NOT_FILTERS = ("sort", "page", "page_size", "format")


def _narrowing(data) -> bool:
    """Does `data` set any filter (search included)? Invalid values count: they are reported, never ignored here."""
    return any(value not in ("", None) for key in data for value in _values(data, key) if key not in NOT_FILTERS)


def _values(data, key) -> list:
    return data.getlist(key) if hasattr(data, "getlist") else _as_list(data.get(key))


def _active_values(value) -> set[str]:
    if value in (None, "", []):
        return set()
    if isinstance(value, bool):
        return {str(value).lower()}
    if isinstance(value, (list, tuple)):
        return {str(v).lower() for v in value}
    return {str(value).lower()}
