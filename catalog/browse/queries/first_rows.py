"""The first rows of a rule list without sorting every rule it matches: the paginator's `narrowing`.

Both take the list's rules (`shown`: their ids, from catalog.browse.queries.rule_matches, every filter
applied) and cut the list's queryset to the rules its first `top` rows come from, so the database sorts a
page's worth of rows; the order itself stays the queryset's (catalog.platform.paging).
"""

from __future__ import annotations

from django.db.models.sql.where import WhereNode

from catalog.models import Rule
from catalog.search import top_k

# Rules read along the title index per rule wanted, at most, before reading the list's own rules is cheaper.
# Walking the index costs about 0.3 us a rule; reading a listed rule's row to sort it, 1-2 us.
WALK_PER_ROW = 5.0


def by_relevance(text: str, shown: list[int], queryset, top: int):
    """A search in relevance order: the rules its first `top` rows come from (catalog.search.top_k)."""
    chosen = top_k.first_rows(text, shown, top)
    return queryset if chosen is None else queryset.filter(top_k.among(chosen))


def by_title(shown: list[int], live_count: int, queryset, top: int):
    """A list of live rules in title order: its first `top` rules, found by walking the live rules' title
    index (rule_live_by_sort_title) until that many of the list's rules went by.

    A filter the database answers with a list of rule ids (a tactic, a technique) made it read each listed
    rule's wide row to sort them all, 13 ms for `?tactic=discovery` at 20x SigmaHQ; the walk reads 10-20
    index entries per rule shown when a list holds a tenth of the catalog. A list too sparse for the walk
    to pay is left to the database.
    """
    if not shown or top <= 0 or top >= len(shown):
        return queryset
    if top * live_count > WALK_PER_ROW * len(shown) * len(shown):  # the walk's rules > WALK_PER_ROW x the list's
        return queryset
    wanted, found, after = set(shown), [], None
    size = int(1.5 * top * live_count / len(shown)) + top  # about what the walk reads: one query, most often
    live = Rule.objects.live().order_by("sort_title", "pk").values_list("sort_title", "pk")
    while len(found) < top:
        # In pieces (a LIMIT each, so PostgreSQL walks the index too), each from where the last one ended.
        piece = (
            live
            if after is None
            else live.filter(sort_title__gte=after[0]).exclude(sort_title=after[0], pk__lte=after[1])
        )
        rows = list(piece[:size])
        found.extend(pk for _, pk in rows if pk in wanted)
        if len(rows) < size:
            break
        after, size = rows[-1], size * 2
    # Those rules are the list's first ones: the list's own filters are left out of the page's query (a
    # database would still read every rule a tactic's id list names to apply them).
    narrowed = queryset.all()
    narrowed.query.where = WhereNode()
    return narrowed.filter(top_k.among(found[:top]))
