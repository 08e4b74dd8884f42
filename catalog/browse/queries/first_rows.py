"""The first rows of a rule list without sorting every rule it matches: the paginator's `narrowing`.

Both take the list's rules (`shown`: their ids, from catalog.browse.queries.rule_matches, every filter
applied) and give the database a cheaper way to the list's first `top` rows; the order itself stays the
queryset's (catalog.platform.paging).
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models.sql.where import WhereNode

from catalog.browse.queries import broad_words
from catalog.models import Rule
from catalog.search import ranking, top_k

# Index entries walked per rule of the list, at most, before reading the list's own rules is cheaper: walking
# the title index costs a fraction of a microsecond an entry, reading a listed rule's row to sort it 1-2 us.
WALK_PER_ROW = 5.0


def by_relevance(text: str, shown: list[int], queryset, top: int, catalog_key: tuple | None = None):
    """A search in relevance order: the rules its first `top` rows come from (catalog.search.top_k), read from the
    catalog version's champion list for a word many titles hold (catalog.browse.queries.broad_words)."""
    champion = broad_words.find(text, catalog_key)
    chosen = NotImplemented if champion is None else broad_words.first_rows(champion, text, shown, top)
    if chosen is NotImplemented:  # more than one word, a word few titles hold, or a list narrowed below a page
        titles = functools.partial(broad_words.title_ids, key=catalog_key)
        chosen = top_k.first_rows(text, shown, top, titles)
    return queryset if chosen is None else queryset.filter(top_k.among(chosen))


def by_title(shown: list[int], live_count: int, queryset, top: int):
    """A list of live rules in title order, filtered by a list of rule ids (a tactic, a technique, test
    events): the same rules, asked for as "walk the live rules' title index (rule_live_by_sort_title) and keep
    those of this list", so the database stops at the page's end.

    Asked for by the filter's own id list, both databases read each listed rule's row to sort them all:
    `?tactic=discovery` at 20x SigmaHQ, 5,300 rules, cost 13 ms on SQLite and 55 on PostgreSQL; the walk
    reads 10-20 index entries per rule shown when a list holds a tenth of the catalog. `id + 0` keeps either
    database from starting with the id list again. A list too sparse for the walk to pay is left as it is.
    """
    if not shown or top <= 0 or top >= len(shown) or top * live_count > WALK_PER_ROW * len(shown) * len(shown):
        return queryset
    # The listed rules are all live and match every filter: the filters themselves are left out.
    narrowed = queryset.all()
    narrowed.query.where = WhereNode()
    if connection.vendor == "postgresql":
        return narrowed.live().extra(where=[f"({PK} + 0) = ANY(%s::bigint[])"], params=[ranking.id_list(shown)])
    return narrowed.live().extra(
        where=[f"({PK} + 0) IN (SELECT value FROM json_each(%s))"], params=[ranking.id_list(shown)]
    )


PK = f'"{Rule._meta.db_table}"."id"'
