"""Keeping the search documents in step with the rules: `refresh(pks)` after any write that changes them.

Callers: the importer's writer (new and changed rules), curation (tags) and `rebuild()` (migration,
tests). Hidden and retired rules keep their documents: listings filter them out before ranking, so
a hide or unhide needs no rewrite. A document is built from the stored rows, not the parse, so every
writer produces the same document for the same rule.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection, transaction

from catalog.models import Polarity, Rule, RuleIndicator, effective_tags
from catalog.models.search import RuleSearch
from catalog.search.snippets import START, STOP
from catalog.search.text import normalized

CHUNK = 500  # rules per round trip (SQLite's variable limit, PostgreSQL's statement size)
LOOKED_FOR = (Polarity.LOOKS_FOR, Polarity.BOTH)  # excluded values are left out of the document
WEIGHTS = (("ident", "A"), ("title", "B"), ("body", "C"), ("extra", "D"))


def refresh(pks) -> None:
    """Rewrite the search documents of these rules (missing rules: their documents go)."""
    pks = sorted(set(pks))
    with transaction.atomic():
        for start in range(0, len(pks), CHUNK):
            _refresh_chunk(pks[start : start + CHUNK])


def rebuild() -> None:
    """Every rule's document, from scratch."""
    refresh(Rule.objects.values_list("pk", flat=True))


def _refresh_chunk(pks: list[int]) -> None:
    documents = _documents(pks)
    RuleSearch.objects.filter(rule_id__in=pks).delete()
    if connection.vendor == "postgresql":
        _insert_with_vectors(documents)
        return
    RuleSearch.objects.bulk_create(documents)  # SQLite: triggers index them in catalog_rulesearch_fts


def _insert_with_vectors(documents: list[RuleSearch]) -> None:
    """PostgreSQL: the documents and their weighted tsvector in one INSERT (inserting, then updating each row
    with its vector, wrote every row and its GIN entries twice)."""
    if not documents:
        return
    quote = connection.ops.quote_name
    columns = ["rule_id", "ident", "title", "body", "extra", "summary"]
    vector = " || ".join(
        f"setweight(to_tsvector('english'::regconfig, COALESCE(d.{column}, '')), '{weight}')"
        for column, weight in WEIGHTS
    )
    listed = ", ".join(quote(column) for column in columns)
    types = ", ".join(["%s::bigint[]"] + ["%s::text[]"] * (len(columns) - 1))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(RuleSearch._meta.db_table)} ({listed}, {quote('vector')})"
            f" SELECT {', '.join(f'd.{column}' for column in columns)}, {vector}"
            f" FROM unnest({types}) AS d({', '.join(columns)})",
            [[getattr(document, column) for document in documents] for column in columns],
        )


def _documents(pks: list[int]) -> list[RuleSearch]:
    techniques = defaultdict(list)
    through = Rule.techniques.through.objects.filter(rule_id__in=pks)
    for rule_id, technique_id, name in through.values_list("rule_id", "technique__technique_id", "technique__name"):
        techniques[rule_id].append((technique_id, name))
    values = defaultdict(list)
    carried = RuleIndicator.objects.filter(rule_id__in=pks, polarity__in=LOOKED_FOR)
    for rule_id, written in carried.values_list("rule_id", "written"):
        values[rule_id].append(written)
    columns = ("pk", "uuid", "name", "title", "description", "author", "references", "tags")
    rules = Rule.objects.filter(pk__in=pks).values_list(*columns, "local_tags_added", "local_tags_removed")
    documents = []
    for pk, uuid, name, title, description, author, references, tags, added, removed in rules:
        known = techniques[pk]
        documents.append(
            RuleSearch(
                rule_id=pk,
                ident=normalized(str(uuid), name, *(technique_id for technique_id, _ in known)),
                title=normalized(title),
                body=normalized(*values[pk], *effective_tags(tags, added, removed), *(n for _, n in known)),
                extra=normalized(description, *(str(r) for r in references or []), author),
                summary=(description or "").replace(START, "").replace(STOP, ""),  # the snippets' marks
            )
        )
    return documents
