"""Match and rank rules by a typed query, with each database's own full-text search.

Order: an exact hit first (the rule id, the exact title, the rule's name, or a technique id the rule
is tagged with, sub-techniques included), then the rules whose title holds more of the query's words
(all of them before some, some before none: `lsass procdump` puts "Potential LSASS Process Dump Via
Procdump" before rules about ProcDump alone, however often those repeat the word), then the
database's relevance score over the weighted document (catalog.models.search: ident > title >
looked-for values, tags, technique names > description, references, author). PostgreSQL scores with
`ts_rank` over the stored weighted tsvector and finds title words as its weight-B lexemes (`word:B`
in the tsquery); SQLite scores with FTS5's `bm25` using column weights in the same proportions and
finds title words with FTS5 column filters. Both annotate `search_rank` (higher is better),
`search_title` (how many of the query's words the title holds) and `search_exact` (1 or 0).
"""

from __future__ import annotations

import contextlib
import json
import uuid

from django.db import connection
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.expressions import Case, When
from django.db.models.functions import Upper

from catalog.search import text as search_text

FTS_TABLE = "catalog_rulesearch_fts"
# ident, title, body, extra: the same proportions as PostgreSQL's weights below (A, B, C, D).
BM25_WEIGHTS = (10.0, 7.0, 3.0, 0.5)
TS_RANK_WEIGHTS = [0.05, 0.3, 0.7, 1.0]  # D, C, B, A (PostgreSQL's order)
TITLE_WEIGHT = "B"  # the title column's weight in the stored tsvector (catalog.search.index.WEIGHTS)
RELEVANCE = ("-search_exact", "-search_title", "-search_rank", "sort_title", "pk")


def search(queryset, text: str):
    """The rules of `queryset` matching every word of `text`, annotated for `RELEVANCE` ordering."""
    phrases = search_text.query_phrases(text)
    if not phrases:  # only punctuation: nothing to look for
        return queryset.annotate(search_exact=Value(0), search_title=Value(0), search_rank=Value(0.0))
    if connection.vendor == "postgresql":
        matched = _postgresql(queryset, phrases)
    else:
        matched = _sqlite(queryset, phrases)
    return matched.annotate(search_exact=Case(When(exact_q(text), then=Value(1)), default=Value(0)))


def _postgresql(queryset, phrases):
    from catalog.models.search import RuleSearch

    rule_table, search_table = queryset.model._meta.db_table, RuleSearch._meta.db_table
    vector = f'"{search_table}"."vector"'
    matches = f"{vector} @@ to_tsquery('english'::regconfig, %s)"
    # A word in the title: its lexemes of weight B (`word:B`), which @@ checks in the same stored vector.
    in_title = " + ".join(f"(CASE WHEN {matches} THEN 1 ELSE 0 END)" for _ in phrases)
    # As SQL, not as Django's SearchQuery, SearchRank and one Case per word: building and compiling those
    # expressions cost each search about 2.7 ms of the web process's CPU, more than SQLite's whole ranking.
    return queryset.extra(
        select={
            "search_rank": f"ts_rank_cd((%s)::float4[], {vector}, to_tsquery('english'::regconfig, %s), 1)",
            "search_title": f"({in_title})",
        },
        select_params=[
            TS_RANK_WEIGHTS,
            search_text.tsquery(phrases),
            *(search_text.tsquery([phrase], TITLE_WEIGHT) for phrase in phrases),
        ],
        tables=[search_table],
        where=[matches, f'"{search_table}"."rule_id" = "{rule_table}"."id"'],
        params=[search_text.tsquery(phrases)],
    )


def _sqlite(queryset, phrases):
    rule_table = queryset.model._meta.db_table
    weights = ", ".join(str(w) for w in BM25_WEIGHTS)
    # One FTS5 lookup per word, restricted to the title column: SQLite evaluates each IN list once.
    in_title = " + ".join(
        f'("{rule_table}"."id" IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s))' for _ in phrases
    )
    return queryset.extra(
        select={
            "search_rank": f"-bm25({FTS_TABLE}, {weights})",
            "search_title": f"({in_title})",
        },  # bm25: lower is better
        select_params=["title : " + search_text.fts5_query([phrase]) for phrase in phrases],
        tables=[FTS_TABLE],
        where=[f"{FTS_TABLE} MATCH %s", f'{FTS_TABLE}.rowid = "{rule_table}"."id"'],
        params=[search_text.fts5_query(phrases)],
    )


def exact_q(text: str) -> Q:
    """What makes a rule an exact answer to `text`: its id, title, name, or a technique it is tagged with."""
    from catalog.models import Rule

    wanted = text.strip()
    exact = Q(title__iexact=wanted)
    if search_text.tokens(wanted):
        exact |= Q(name__iexact=wanted) & ~Q(name="")
    with contextlib.suppress(ValueError):  # not a rule id
        exact |= Q(uuid=uuid.UUID(wanted))
    if search_text.is_technique_id(wanted):
        technique = wanted.upper()
        tagged = Rule.techniques.through.objects.filter(rule_id=OuterRef("pk")).filter(
            Q(technique__technique_id=technique) | Q(technique__technique_id__startswith=technique + ".")
        )
        exact |= Q(Exists(tagged))
    return exact


def relevance_order(queryset):
    return queryset.order_by(*RELEVANCE)


def matching_ids(text: str) -> set[int] | None:
    """The ids of the rules (hidden ones included) whose document matches `text`, as `search` filters them,
    read from the full-text index alone (no rule row); None when `text` has nothing to look for."""
    phrases = search_text.query_phrases(text)
    if not phrases:
        return None
    if connection.vendor == "postgresql":
        return _vector_ids(search_text.tsquery(phrases))
    return _fts_ids(search_text.fts5_query(phrases))


def title_ids(phrases: list[list[str]]) -> list[set[int]]:
    """Per phrase (query_phrases), the ids of the rules whose title holds it: what `search_title` adds up (1
    query). PostgreSQL reads them from the title's own vector (migration 0023's index): the same lexemes as the
    stored vector's weight-B ones, which that index cannot tell apart."""
    if not phrases:
        return []
    if connection.vendor == "postgresql":
        from catalog.models.search import RuleSearch

        one = (
            f"(SELECT array_agg(rule_id) FROM {RuleSearch._meta.db_table}"
            " WHERE to_tsvector('english'::regconfig, title) @@ to_tsquery('english'::regconfig, %s))"
        )
        params = [search_text.tsquery([phrase]) for phrase in phrases]
    else:
        one = f"(SELECT json_group_array(rowid) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)"
        params = ["title : " + search_text.fts5_query([phrase]) for phrase in phrases]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join([one] * len(phrases)), params)
        found = cursor.fetchone()
    if connection.vendor == "postgresql":
        return [set(ids or ()) for ids in found]
    return [set(json.loads(ids)) for ids in found]


def exact_ids(text: str) -> set[int]:
    """The ids of the rules `exact_q(text)` holds for, found through indexes (1 query). The title through migration
    0023's index on UPPER(title), the name through 0024's on UPPER(name) of the rules that have one: UPPER(a) =
    UPPER(b) is what `iexact` compiles to on PostgreSQL, and on SQLite it folds the ASCII letters alone, as its LIKE
    does."""
    from catalog.models import Rule

    wanted = text.strip()
    conditions = [Q(upper_title=Upper(Value(wanted)))]
    if search_text.tokens(wanted):
        conditions.append(Q(upper_name=Upper(Value(wanted))) & ~Q(name=""))
    with contextlib.suppress(ValueError):  # not a rule id
        conditions.append(Q(uuid=uuid.UUID(wanted)))
    if search_text.is_technique_id(wanted):
        technique = wanted.upper()
        tagged = Rule.techniques.through.objects.filter(
            Q(technique__technique_id=technique) | Q(technique__technique_id__startswith=technique + ".")
        )
        conditions.append(Q(pk__in=tagged.values("rule_id")))
    # A UNION of one SELECT per condition, not one OR of them: most rules have no name, so SQLite judged the name's
    # index useless for the OR and read every rule row instead (`powershell` at 20x SigmaHQ: 116 ms, against 8 ms).
    rules = Rule.objects.alias(upper_title=Upper("title"), upper_name=Upper("name")).order_by()
    selects = [rules.filter(condition).values_list("pk", flat=True) for condition in conditions]
    return set(selects[0].union(*selects[1:]))


def scores(text: str, ids) -> dict[int, float]:
    """{rule id: search_rank} for the rules of `ids` that match `text`: the same expression as `search`'s,
    computed for those rules alone (1 query)."""
    phrases = search_text.query_phrases(text)
    ids = sorted(ids)
    if not phrases or not ids:
        return {}
    if connection.vendor == "postgresql":
        from catalog.models.search import RuleSearch

        # SearchRank's SQL in `_postgresql` (ts_rank_cd with the same weights, query and normalization), for the
        # listed rules: `= ANY` of one array (an IN list of thousands cost a third more), the result as two
        # arrays (a row per rule cost more to receive than to rank).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT array_agg(rule_id),"
                " array_agg(ts_rank_cd((%s)::float4[], vector, to_tsquery(%s::regconfig, %s), 1))"
                f" FROM {RuleSearch._meta.db_table} WHERE rule_id = ANY(%s::bigint[])",
                [TS_RANK_WEIGHTS, "english", search_text.tsquery(phrases), id_list(ids)],
            )
            found, ranks = cursor.fetchone()
        return dict(zip(found or (), ranks or (), strict=True))
    weights = ", ".join(str(w) for w in BM25_WEIGHTS)
    with connection.cursor() as cursor:
        cursor.execute(
            # `+rowid`: FTS5 reads the match's rows in one pass and the list is checked per row; a constraint on
            # rowid itself would make it evaluate the MATCH again for each listed id (1.8 s for 5,620 of them).
            f"SELECT rowid, -bm25({FTS_TABLE}, {weights}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
            " AND +rowid IN (SELECT value FROM json_each(%s))",
            [search_text.fts5_query(phrases), id_list(ids)],
        )
        return dict(cursor.fetchall())


def id_list(ids) -> str:
    """Rule ids as one SQL parameter the database parses itself: a PostgreSQL array literal (`%s::bigint[]`),
    JSON for SQLite (`json_each(%s)`). Thousands of ids as a Python list cost psycopg 1 us each to send."""
    ids = sorted(ids)
    if connection.vendor == "postgresql":
        return "{" + ",".join(map(str, ids)) + "}"
    return json.dumps(ids)


def _fts_ids(match: str) -> set[int]:
    # One JSON array, not a row per rule: fetching 12,820 one-column rows cost twice as much.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT json_group_array(rowid) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])
        return set(json.loads(cursor.fetchone()[0]))


def _vector_ids(tsquery: str) -> set[int]:
    from catalog.models.search import RuleSearch

    table = RuleSearch._meta.db_table
    with connection.cursor() as cursor:  # one array, not a row per rule
        cursor.execute(
            f"SELECT array_agg(rule_id) FROM {table} WHERE vector @@ to_tsquery('english'::regconfig, %s)", [tsquery]
        )
        return set(cursor.fetchone()[0] or ())


__all__ = ["search", "exact_q", "relevance_order", "matching_ids", "title_ids", "exact_ids", "scores", "id_list"]
