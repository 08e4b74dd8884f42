"""Rule lists: the filtered, sorted list of /rules/ and /api/rules/, and the pivots' rule lists.

Visibility comes from Rule.objects (catalog.models.RuleQuerySet): `public()` for what a visitor
may open at all, `live()` for what listings and counts are about.
"""

from __future__ import annotations

from django.db.models import Case, F, IntegerField, Value, When

from catalog.browse.queries.filtersets import SORTS, RuleFilterSet
from catalog.models import LEVELS, CountSummary, Rule
from catalog.search import ranking

PER_PAGE = 50  # rows per page of the HTML rule lists (/rules/, /coverage/rules/)

RECENT_LIMIT = 10


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


def rule_filterset(data, queryset=None) -> RuleFilterSet:
    """The shared RuleFilterSet over public rules (retired ones only when `retired` is asked), or over
    `queryset`. `whole_catalog` says it starts from every public rule (what the summary tables count)."""
    filterset = RuleFilterSet(data, queryset=Rule.objects.public() if queryset is None else queryset)
    filterset.whole_catalog = queryset is None
    return filterset


def filtered_rules(filterset: RuleFilterSet):
    """The rules of /rules/ and /api/rules/: the filterset's valid filters applied, sorted as asked.

    An invalid parameter is left out here; the caller reports it (a 400 with the form errors).
    """
    data = cleaned(filterset)
    found = sorted_rules(filterset.qs, data.get("sort"), searched=bool((data.get("q") or "").strip()))
    known = summarized_count(filterset, data)
    if known is not None:
        found.known_count = known  # read by catalog.platform.paging: no COUNT over thousands of wide rule rows
    return found


def summarized_count(filterset, data: dict) -> int | None:
    """The list's size from the summary tables when its only filter is one tactic or some levels (the
    summaries count exactly those rules: live, public, tagged with the tactic / at that shown level)."""
    used = {name for name, value in data.items() if value not in (None, "", [], ()) and name != "sort"}
    if not getattr(filterset, "whole_catalog", False) or filterset.errors or used not in ({"tactic"}, {"level"}):
        return None
    (name,) = used
    values = list(data[name]) if isinstance(data[name], (list, tuple)) else [data[name]]
    if name == "tactic" and len(values) != 1:  # a rule may have two tactics: their counts do not add up
        return None
    stored = CountSummary.objects.filter(kind=name, key__in=[str(v) for v in values]).values_list("count", flat=True)
    return sum(stored)


def cleaned(filterset) -> dict:
    """The valid part of a filterset's input: an invalid parameter is reported and ignored."""
    if not filterset.is_bound:
        return {}
    filterset.is_valid()  # runs validation
    return getattr(filterset.form, "cleaned_data", {})


def listing(queryset):
    """A rule queryset ready for an HTML listing table: source joined, techniques in one query. A size known
    from the summary tables (`known_count`, catalog.platform.paging) stays with it."""
    listed = queryset.for_listing()
    known = getattr(queryset, "known_count", None)
    if known is not None:
        listed.known_count = known
    return listed


def recent_rules(limit: int = RECENT_LIMIT, without_sources=()):
    """The live rules modified most recently (the front page's "latest changes"), but those of `without_sources`."""
    rules = Rule.objects.live().filter(modified__isnull=False).exclude(source__name__in=list(without_sources))
    return list(listing(rules.order_by("-modified", "sort_title"))[:limit])
