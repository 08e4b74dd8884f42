"""A search result's snippet: the part of a rule's description around the query's words, those words marked.

Cut by each database's own full-text search from the description as written (RuleSearch.summary):
SQLite's FTS5 `snippet()` (the summary column of the FTS table, indexed with weight 0) and PostgreSQL's
`ts_headline`. Both stem as their search does, so "dump" marks "dumping"; a description without the
query's words gives its beginning. Asked for the rules of one page only (one query), never for every
match: neither function is cheap, and a count or a facet never needs them.

The marks are the control characters START and STOP, never HTML: the description is a rule author's text,
and the template escapes it before turning the marks into <mark> (catalog_tags.marked).
"""

from __future__ import annotations

from django.db import connection

from catalog.search import text as search_text
from catalog.search.ranking import FTS_TABLE

START, STOP = "\x02", "\x03"
SUMMARY_COLUMN = 4  # ident, title, body, extra, summary (migration 0018)
# About the part of a rule table's line left for it (≈ 60 characters): a longer fragment would start further
# before the first match, which the line's ellipsis would then cut off. FTS5 counts tokens, ts_headline words.
SNIPPET_TOKENS = 10
ELLIPSIS = "…"
HEADLINE_OPTIONS = (
    ("StartSel", START),
    ("StopSel", STOP),
    ("MaxWords", SNIPPET_TOKENS),
    ("MinWords", SNIPPET_TOKENS // 2),
    ("ShortWord", 2),
)


def snippets(rule_ids: list[int], text: str) -> dict[int, str]:
    """{rule id: snippet} for the rules among `rule_ids` that match `text` (1 query; none without words)."""
    phrases = search_text.query_phrases(text)
    if not phrases or not rule_ids:
        return {}
    if connection.vendor == "postgresql":
        return _postgresql(rule_ids, phrases)
    return _sqlite(rule_ids, phrases)


def _sqlite(rule_ids: list[int], phrases) -> dict[int, str]:
    marks = ", ".join(["%s"] * len(rule_ids))
    sql = (
        f"SELECT rowid, snippet({FTS_TABLE}, {SUMMARY_COLUMN}, %s, %s, %s, {SNIPPET_TOKENS}) FROM {FTS_TABLE}"
        f" WHERE {FTS_TABLE} MATCH %s AND rowid IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [START, STOP, ELLIPSIS, search_text.fts5_query(phrases), *rule_ids])
        return {rule_id: snippet for rule_id, snippet in cursor.fetchall() if snippet}


def _postgresql(rule_ids: list[int], phrases) -> dict[int, str]:
    from catalog.models.search import RuleSearch

    # What Django's SearchHeadline over the ORM writes (the same options, in its order), as SQL: building and
    # compiling the expressions cost more of the web process's CPU than the query itself.
    options = ", ".join(connection.ops.compose_sql(f"{name}=%s", [value]) for name, value in HEADLINE_OPTIONS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rule_id, ts_headline('english'::regconfig, summary, to_tsquery('english'::regconfig, %s), %s),"
            f" summary FROM {RuleSearch._meta.db_table} WHERE rule_id = ANY(%s::bigint[]) AND summary <> ''",
            [search_text.tsquery(phrases), options, "{" + ",".join(map(str, rule_ids)) + "}"],
        )
        return {rule_id: _cut(snippet, summary) for rule_id, snippet, summary in cursor.fetchall()}


def _cut(snippet: str, summary: str) -> str:
    """ts_headline's fragment with an ellipsis where it cuts the description, as FTS5's snippet() writes it."""
    plain = snippet.replace(START, "").replace(STOP, "").strip()
    before = "" if summary.lstrip().startswith(plain[:40]) else ELLIPSIS
    after = "" if summary.rstrip().endswith(plain[-40:]) else ELLIPSIS
    return before + snippet.strip() + after
