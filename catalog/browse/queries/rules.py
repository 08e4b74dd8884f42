"""Rule lists: the filtered, sorted list of /rules/ and /api/rules/, and the pivots' rule lists.

Visibility comes from Rule.objects (catalog.models.RuleQuerySet): `public()` for what a visitor
may open at all, `live()` for what listings and counts are about.
"""

from __future__ import annotations

import functools

from django.db.models import Case, F, IntegerField, Value, When

from catalog.browse.queries import first_rows, rule_index
from catalog.browse.queries.filtersets import SORTS, RuleFilterSet
from catalog.browse.queries.rule_matches import Matches
from catalog.models import LEVELS, Rule
from catalog.platform import paging
from catalog.search import ranking

PER_PAGE = 50  # rows per page of the HTML rule lists (/rules/, /coverage/rules/)

RECENT_LIMIT = 10
# Filters the database applies as a list of rule ids (`pk IN (...)`): sorted by title, such a list is read
# along the title index instead (catalog.browse.queries.first_rows.by_title).
ID_LIST_FILTERS = ("tactic", "technique", "has_test_events", "indicators")


def with_level_rank(queryset):
    """Annotate `level_rank` (informational=0 .. critical=4, unknown=-1) for sorting by level."""
    whens = [When(level_shown=lvl, then=Value(i)) for i, lvl in enumerate(LEVELS)]
    return queryset.annotate(level_rank=Case(*whens, default=Value(-1), output_field=IntegerField()))


def sorted_rules(queryset, sort: str | None, searched: bool = False):
    """Order a rule queryset by one of filters.SORTS; by relevance when searched and no sort is asked, else title.

    Rules without a date sort last both ways, on every database (PostgreSQL puts NULLs first
    when descending, SQLite when ascending).
    """
    if sort in SORTS:
        return with_level_rank(queryset).order_by(*(_nulls_last(term) for term in SORTS[sort]), "pk")
    if searched:
        return ranking.relevance_order(queryset)  # annotated by RuleFilterSet.search (catalog.search.ranking)
    return queryset.order_by("sort_title", "pk")


def _nulls_last(term: str):
    column = F(term.lstrip("-"))
    return column.desc(nulls_last=True) if term.startswith("-") else column.asc(nulls_last=True)


def rule_filterset(data, queryset=None, catalog_state: tuple | None = None) -> RuleFilterSet:
    """The shared RuleFilterSet over public rules (retired ones only when `retired` is asked), or over
    `queryset`. `whole_catalog` says it starts from every public rule (what the summary tables count);
    `catalog_state`, the catalog version the request renders, when read already (its rule index's key)."""
    filterset = RuleFilterSet(data, queryset=Rule.objects.public() if queryset is None else queryset)
    filterset.whole_catalog = queryset is None
    filterset.catalog_state = catalog_state
    return filterset


def filtered_rules(filterset: RuleFilterSet):
    """The rules of /rules/ and /api/rules/: the filterset's valid filters applied, sorted as asked.

    An invalid parameter is left out here; the caller reports it (a 400 with the form errors). Over the
    whole catalog, the list's size is counted from its rules' ids (`known_count`, catalog.platform.paging:
    exact, and no COUNT over thousands of wide rule rows), and a search in relevance order scores only the
    rules its page can come from (`narrowing`: catalog.search.top_k).
    """
    data = cleaned(filterset)
    text = (data.get("q") or "").strip()
    found = sorted_rules(filterset.qs, data.get("sort"), searched=bool(text))
    if getattr(filterset, "whole_catalog", False):
        found_rules = matches(filterset)
        shown = found_rules.shown()
        found.known_count = len(shown)
        if text and not data.get("sort"):
            key = found_rules.index.key
            found.narrowing = functools.partial(first_rows.by_relevance, text, shown, catalog_key=key)
        elif _by_id_list(found_rules, data):
            found.narrowing = functools.partial(first_rows.by_title, shown, found_rules.index.live_count)
    return found


def _by_id_list(found_rules: Matches, data: dict) -> bool:
    """A list of live rules in title order that a filter narrows by a list of rule ids."""
    in_title_order = data.get("sort") in (None, "", "title") and data.get("retired") is not True
    return in_title_order and bool(set(found_rules.used) & set(ID_LIST_FILTERS))


def matches(filterset: RuleFilterSet) -> Matches:
    """The rules a whole-catalog filterset matches (catalog.browse.queries.rule_matches), worked out once
    per filterset: the list's count and its facets share them."""
    known = getattr(filterset, "matches", None)
    if known is None:
        index = rule_index.current(getattr(filterset, "catalog_state", None))
        known = filterset.matches = Matches(cleaned(filterset), index)
    return known


def cleaned(filterset) -> dict:
    """The valid part of a filterset's input: an invalid parameter is reported and ignored."""
    if not filterset.is_bound:
        return {}
    filterset.is_valid()  # runs validation
    return getattr(filterset.form, "cleaned_data", {})


def listing(queryset):
    """A rule queryset ready for an HTML listing table: source joined, techniques in one query. What the
    paginator reads from it (`known_count`, `narrowing`: catalog.platform.paging) stays with it."""
    return paging.carried(queryset, queryset.for_listing())


def recent_rules(limit: int = RECENT_LIMIT, without_sources=()):
    """The live rules modified most recently (the front page's "latest changes"), but those of `without_sources`."""
    rules = Rule.objects.live().filter(modified__isnull=False).exclude(source__name__in=list(without_sources))
    return list(listing(rules.order_by("-modified", "sort_title"))[:limit])
