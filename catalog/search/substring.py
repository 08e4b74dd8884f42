"""Substring search over indicator values with each database's own trigram index.

/indicators/?value=whoami asks for every indicator whose value contains "whoami": a LIKE '%whoami%'
that no B-tree index can serve, so without help it reads every indicator (0.25 s at 20x SigmaHQ).
- PostgreSQL: pg_trgm GIN indexes on `value` and UPPER(`display`) serve LIKE / ILIKE directly; the
  query needs nothing special.
- SQLite: an FTS5 table with the trigram tokenizer (external content: it reads catalog_indicator and
  triggers keep it in step, migration 0015) gives the candidate rows; the exact condition is then
  applied to those candidates, so the result is the same as the plain LIKE's. Trigrams need three
  characters: a shorter value is looked for by the plain LIKE.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

INDICATOR_TRIGRAMS = "catalog_indicator_trigram"
MIN_TRIGRAM = 3


def value_contains(value: str) -> Q:
    """Indicators whose value contains `value` (stored casefolded unless cased/regex: both forms match)."""
    exact = Q(value__contains=value.casefold()) | Q(display__icontains=value)
    if connection.vendor != "sqlite" or len(value) < MIN_TRIGRAM:
        return exact
    phrase = '"' + value.replace('"', '""') + '"'  # an FTS5 string: the whole value, quotes doubled
    trigram_ids = RawSQL(f"SELECT rowid FROM {INDICATOR_TRIGRAMS} WHERE {INDICATOR_TRIGRAMS} MATCH %s", [phrase])
    return Q(pk__in=trigram_ids) & exact
