"""The first rows of a search's relevance order, without scoring every match.

The relevance order (catalog.search.ranking.RELEVANCE) sorts by whether a rule is an exact answer, then by
how many of the query's words its title holds, and only then by the database's score (FTS5's bm25,
PostgreSQL's ts_rank_cd) and the title. So the first `top` rows are among the exact answers and the rules
whose titles hold at least h of the words, for the largest h that gives `top` of them: every other match
has a lower title count and comes after all of those. Those rules are found from the full-text index (one
lookup per word of the query, no rule row read) and only they are scored and sorted. A broad search ranks a
part of its matches: `powershell` at 20x SigmaHQ scores the 5,620 rules with the word in their title,
not all 12,820 (1.2 us each with bm25, about 10 with ts_rank_cd), and a narrow one, or a page past the
titled rules, ranks them all as before.
"""

from __future__ import annotations

import heapq
from collections import Counter

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from catalog.search import ranking
from catalog.search import text as search_text


def first_rows(text: str, shown, top: int, title_ids=ranking.title_ids) -> set[int] | None:
    """The rules among `shown` (the list's rules, every filter applied) that make the first `top` rows of the
    relevance order for `text` (more when rules tie with the last of them: the database's order of those
    decides); None when that is all of them (then no query; else 3). `title_ids`: ranking.title_ids, or what gives
    the same sets from what the caller keeps (catalog.browse.queries.broad_words)."""
    if top >= len(shown):
        return None
    within = set(shown)
    exact = ranking.exact_ids(text) & within
    hits = Counter()
    phrases = search_text.query_phrases(text)
    for titled in title_ids(phrases):
        hits.update(titled & within)
    candidates = None
    for needed in range(len(phrases), 0, -1):
        chosen = exact | {pk for pk, n in hits.items() if n >= needed}
        if len(chosen) >= top:
            candidates = chosen
            break
    if candidates is None:  # fewer titles hold a word than the page needs: every match is a candidate
        candidates = within
    scores = ranking.scores(text, candidates)
    keys = {pk: (pk in exact, hits[pk], scores.get(pk, 0.0)) for pk in candidates}
    last = heapq.nlargest(top, keys.values())[-1]  # the page's last key: no sort of every candidate's key
    return {pk for pk, key in keys.items() if key >= last}


def among(ids) -> Q:
    """Rules whose id is one of `ids`, as one parameter: a list of thousands of ids would be as many."""
    if connection.vendor == "postgresql":
        return Q(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ranking.id_list(ids)]))
    return Q(pk__in=RawSQL("SELECT value FROM json_each(%s)", [ranking.id_list(ids)]))
