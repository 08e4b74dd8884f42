"""The rule list's facets: every choice of every filter with the number of rules it would leave."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from catalog.browse.queries import facet_counts
from catalog.browse.queries.filtersets import RuleFilterSet
from catalog.browse.queries.rules import cleaned
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
    """Counts beside every choice of every facet, in one query plus one per facet in use.

    A count is the number of rules matching the current filters that also have that choice, so
    following a choice's link leads to exactly that many rules. Values of one facet are OR-ed, so
    the choices of a facet in use are counted without that facet's own filter (the rules a second
    value's link adds): one more query for each facet in use. The database counts (catalog.browse/queries.
    facet_counts: GROUP BY over the matching rules, computed once per query), so the cost grows with
    the number of distinct choices, not with the number of matching rules.
    """
    data = cleaned(filterset)
    active = {name: _active_values(data.get(name)) for name, _ in FACETS}
    wanted_retired = data.get("retired")
    names = [name for name, _ in FACETS]
    counted = _counts(filterset.data, filterset, names, wanted_retired)
    for name in names:
        if active[name] and name != "retired":  # OR-ed: this facet's choices are counted without its own filter
            counted[name] = _counts(_without(filterset.data, name), filterset, [name], wanted_retired)[name]
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


def capped(filterset: RuleFilterSet, match_count: int) -> int | None:
    """How many matching rules the facet counts were counted over when the list's counted facets match more
    than facet_counts.CAP rules (they are then lower bounds, and the list says so), else None: exact counts
    (the whole catalog's are read from the summary tables, whatever its size)."""
    data = filterset.data
    from_summaries = getattr(filterset, "whole_catalog", False) and not _narrowing(data) and "retired" not in data
    return facet_counts.CAP if match_count > facet_counts.CAP and not from_summaries else None


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
    params = query.copy() if hasattr(query, "copy") else dict(query)
    params.pop("page", None)
    current = params.getlist(name) if hasattr(params, "getlist") else _as_list(params.get(name))
    params.pop(name, None)
    rest = params.urlencode() if hasattr(params, "urlencode") else urlencode(params, doseq=True)
    joiner = "&" if rest else ""
    for choice in choices:
        if choice.active:
            values = [v for v in current if v.lower() != choice.value.lower()]
        elif name in ("retired", "has_test_events"):  # yes/no facets: a second value would be contradictory
            values = [choice.value]
        else:
            values = [*current, choice.value]
        encoded = urlencode({name: values}, doseq=True)
        choice.href = "?" + rest + (joiner + encoded if encoded else "")


def _as_list(value) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _without(data, name: str):
    data = data.copy()
    data.pop(name, None)
    return data


def _counts(data, filterset: RuleFilterSet, names: list[str], wanted_retired) -> dict[str, list[tuple]]:
    """The facet counts of the rules matching `data`: over the whole live catalog they are read from the
    summary table (catalog.publishing.summaries: a few hundred rows, whatever the corpus size), else counted."""
    if wanted_retired is None and getattr(filterset, "whole_catalog", False) and not _narrowing(data):
        return facet_counts.summary_counts(names)
    return facet_counts.counts(_matching_rules(data, filterset), names, wanted_retired)


NOT_FILTERS = ("sort", "page", "page_size", "format")


def _narrowing(data) -> bool:
    """Does `data` set any filter (search included)? Invalid values count: they are reported, never ignored here."""
    return any(value not in ("", None) for key in data for value in _values(data, key) if key not in NOT_FILTERS)


def _values(data, key) -> list:
    return data.getlist(key) if hasattr(data, "getlist") else _as_list(data.get(key))


def _matching_rules(data, filterset: RuleFilterSet):
    """The rules matching every filter of `data` but `retired` (the retired facet counts both), unordered."""
    others = RuleFilterSet(_without_retired(data), queryset=filterset.queryset)
    cleaned(others)
    return others.filter_queryset(others.queryset.all()).order_by()


def _without_retired(data):
    data = data.copy()
    data.pop("retired", None)
    return data


def _active_values(value) -> set[str]:
    if value in (None, "", []):
        return set()
    if isinstance(value, bool):
        return {str(value).lower()}
    if isinstance(value, (list, tuple)):
        return {str(v).lower() for v in value}
    return {str(value).lower()}
