"""The rule list's facet counts, counted by the database: GROUP BY over the rules a list matches.

The matching rules (the list's query, search included) are computed once per call, in a
materialized common table expression, and every facet is one GROUP BY over it in a single
UNION ALL query: the text search runs once, not once per facet, and no matching row is read
in Python. Tags and authors are stored as text lists (`|a|b|`, "A, B and C"): they are grouped by
the whole text in SQL and split here, weighted by each group's count, so the Python work grows
with the distinct tag and author lists, not with the rules (a 20x corpus of copies has the same).
"""

from __future__ import annotations

from collections import Counter

from django.db import connection

from catalog.browse.queries import stored_counts
from catalog.models import LEVELS, Rule, RuleTestEvent

COLUMNS = (
    ("pk", "pk"),
    ("status", "status"),
    ("level", "level_shown"),  # the override, else Sigma's level (a generated column)
    ("product", "product"),
    ("category", "category"),
    ("service", "service"),
    ("tag_text", "tag_text"),
    ("author", "author"),
    ("source", "source__name"),
    ("retired", "retired"),
    ("quality", "quality"),
)
# Facets count at most this many matching rules: a match beyond it (a broad search or filter of a large
# corpus) is counted over the first CAP rules the database finds, and the list says its facet counts are
# capped (catalog.browse.queries.facets.capped). Reading each matching rule's row is most of a facet count's
# cost: 38,000 rules of a 20x corpus took 450 ms, 10,000 take a quarter of it. Under CAP, counts are exact.
CAP = 10_000
YES_NO = {  # yes/no facets: their values in display order, with labels
    "retired": {"false": "live", "true": "retired"},
    "has_test_events": {"true": "with logged test events", "false": "without"},
}
PLAIN = {
    "status": "m.status",
    "level": "m.level",
    "product": "m.product",
    "category": "m.category",
    "service": "m.service",
    "source": "m.source",
    "tag": "m.tag_text",  # split below
    "author": "m.author",  # split below
    "quality": "m.quality",
}
QUALITY_LABELS = {"high": "high", "medium": "medium", "low": "low only", "clean": "no findings"}  # worst first


def counts(matching, names: list[str], wanted_retired: bool | None) -> dict[str, list[tuple]]:
    """{facet: [(value, label, count), ...] most frequent first} for `names`, over the rules of the
    queryset `matching` (its first CAP) that are retired as `wanted_retired` asks (None: live ones); the
    `retired` facet counts both."""
    inner, params = matching.values_list(*(path for _, path in COLUMNS))[:CAP].query.sql_with_params()
    columns = ", ".join(name for name, _ in COLUMNS)
    parts, part_params = [], []
    for name in names:
        sql, extra = _part(name, wanted_retired)
        parts.append(sql)
        part_params += extra
    sql = f"WITH m({columns}) AS MATERIALIZED ({inner}) " + " UNION ALL ".join(parts)
    grouped = {name: [] for name in names}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *part_params])
        for facet, value, label, count in cursor.fetchall():
            grouped[facet].append((value, label, count))
    return {name: _ordered(name, grouped[name]) for name in names}


def summary_counts(names: list[str]) -> dict[str, list[tuple]]:
    """What `counts(all public rules, names, None)` gives, read from the summary table (1 query)."""
    stored = stored_counts.facet_rows(names)
    return {name: _ordered(name, stored[name]) for name in names}


def _part(name: str, wanted_retired: bool | None) -> tuple[str, list]:
    """One facet's GROUP BY over `m` (facet, value, label, count), with its parameters."""
    where, params = "m.retired = %s", [bool(wanted_retired)]
    if name == "retired":
        value = "CASE WHEN m.retired THEN 'true' ELSE 'false' END"
        return f"SELECT 'retired', {value}, '', COUNT(*) FROM m GROUP BY m.retired", []
    if name == "has_test_events":
        tested = f"m.pk IN (SELECT rule_id FROM {RuleTestEvent._meta.db_table})"
        value = f"CASE WHEN {tested} THEN 'true' ELSE 'false' END"
        return f"SELECT '{name}', {value}, '', COUNT(*) FROM m WHERE {where} GROUP BY {value}", params
    if name in ("tactic", "technique"):
        through = (Rule.tactics if name == "tactic" else Rule.techniques).through
        target = through._meta.get_field(name).related_model
        key = "shortname" if name == "tactic" else "technique_id"
        # CROSS JOIN fixes SQLite's join order (it may not reorder one): each matching rule, then its
        # rows through the indexed rule_id. Left free, it chose to scan the through table and search `m`
        # (which has no index) per row once two such parts shared the query: 18 s at 20x SigmaHQ.
        # PostgreSQL plans a CROSS JOIN with a WHERE like any inner join.
        sql = (
            f"SELECT '{name}', t.{key}, MAX(t.name), COUNT(*) FROM m"
            f" CROSS JOIN {through._meta.db_table} x CROSS JOIN {target._meta.db_table} t"
            f" WHERE x.rule_id = m.pk AND t.id = x.{name}_id AND {where} GROUP BY t.{key}"
        )
        return sql, params
    expression = PLAIN[name]
    return f"SELECT '{name}', {expression}, '', COUNT(*) FROM m WHERE {where} GROUP BY {expression}", params


def _ordered(name: str, rows: list[tuple]) -> list[tuple]:
    """Most frequent first (ties by value); levels from critical down; retired: live, then retired."""
    if name in YES_NO:
        labels = YES_NO[name]
        return [(v, labels[v], n) for v in labels for value, _, n in rows if value == v and n]
    weighted = Counter()
    labels = {}
    for value, label, n in rows:
        for one in _split(name, value):
            weighted[one] += n
            labels[one] = _label(name, one, label)
    if name == "quality":
        return [(q, label, weighted[q]) for q, label in QUALITY_LABELS.items() if weighted[q]]
    if name == "level":
        ordered = [lvl for lvl in reversed(LEVELS) if lvl in weighted] + sorted(set(weighted) - set(LEVELS), key=str)
        return [(lvl, lvl, weighted[lvl]) for lvl in ordered]
    return [(v, labels[v], n) for v, n in sorted(weighted.items(), key=lambda item: (-item[1], str(item[0])))]


def _split(name: str, value) -> list:
    if name == "tag":
        return [tag for tag in (value or "").split("|") if tag]
    if name == "author":
        return sorted(authors(value or ""))
    return [value]


def _label(name: str, value, label) -> str:
    """The stored label: a tactic's or technique's name (the facet shows a technique as "id name",
    composed when shown: the summary table keeps the name alone, so reading it back never doubles the id)."""
    if name in ("tactic", "technique"):
        return label or ""
    return value


def authors(text: str) -> set[str]:
    """The names of an author field ("A, B and C")."""
    return {name.strip() for name in text.replace(" and ", ",").split(",") if name.strip()}
