"""Which rules count, and the one place that changes it.

A rule is *public* unless a curator hid it, and *live* unless its file left its repository
(retired). Listings, facets and corpus counts are about public, live rules, so whenever `hidden`
or `retired` changes, two things must follow in the same transaction: the indicators' corpus
counts (looked for and excluded) are recounted and the catalog version is bumped (it keys every worker's page cache).
`set_visibility` is the only code that writes those two columns; tests/publishing/test_visibility.py
proves it by reading the code base for any other write.
"""

import contextlib
import contextvars

from django.db import connection, transaction
from django.db.models import Q

from catalog.coverage import summary as telemetry_summary
from catalog.models import Indicator, Polarity, Rule, RuleIndicator
from catalog.publishing.versioning import bump_version

# Set inside `deferred()`: changes are noted here and published once when the block ends.
_pending: contextvars.ContextVar[list | None] = contextvars.ContextVar("visibility_pending", default=None)


def set_visibility(rules, *, hidden: bool | None = None, retired: bool | None = None, **also) -> int:
    """Set `hidden` and/or `retired` on a rule queryset; recount and bump when anything changed.

    `also` are other columns written in the same UPDATE (e.g. the import run that retired them).
    Returns the number of rules whose visibility changed.
    """
    target = {name: value for name, value in (("hidden", hidden), ("retired", retired)) if value is not None}
    if not target:
        raise ValueError("set_visibility needs hidden= or retired=")
    with transaction.atomic():
        changed = rules.filter(~Q(**target)).update(**target, **also)
        if changed:
            publish()
    return changed


def publish() -> None:
    """Recount corpus counts and bump the catalog version, or note it for the end of `deferred()`."""
    pending = _pending.get()
    if pending is not None:
        pending.append(True)
        return
    recount_corpus()
    telemetry_summary.refresh()  # rules' needs for telemetry coverage (catalog.coverage)
    bump_version(fields=True)


@contextlib.contextmanager
def deferred():
    """Publish once at the end of a block that changes much (an import), not after each change."""
    if _pending.get() is not None:  # nested: the outer block publishes
        yield
        return
    token = _pending.set([])
    try:
        yield
        pending = _pending.get()
    finally:
        _pending.reset(token)
    if pending:
        publish()


def recount_corpus() -> None:
    """Both corpus counts in one set-based statement (one aggregate join, not a query per indicator).

    `corpus_count` is the number of live, visible rules that look for the indicator (polarity
    `looks_for` or `both`), `exclude_count` the number that exclude it (`excludes` or `both`).
    Retired rules (gone upstream) and hidden rules (a curator's decision) do not count, so a page
    never shows a count that its indicator page cannot list. A correlated subquery per indicator
    would be fine on SQLite but, on freshly bulk-loaded PostgreSQL tables without statistics, is
    planned as nested scans (measured: 32 s instead of 0.1 s).
    """
    quote = connection.ops.quote_name
    indicator, rule_indicator, rule = (quote(m._meta.db_table) for m in (Indicator, RuleIndicator, Rule))
    with connection.cursor() as cursor:
        # Only rows whose counts change are written: an UPDATE of every indicator costs seconds
        # on PostgreSQL (a new row version per indicator) even when one rule changed.
        cursor.execute(
            f"UPDATE {indicator} SET corpus_count = fresh.n, exclude_count = fresh.x FROM ("
            f" SELECT i.id AS id,"
            f" COUNT(CASE WHEN ri.polarity <> %s THEN r.id END) AS n,"
            f" COUNT(CASE WHEN ri.polarity <> %s THEN r.id END) AS x"
            f" FROM {indicator} i"
            f" LEFT JOIN {rule_indicator} ri ON ri.indicator_id = i.id"
            f" LEFT JOIN {rule} r ON r.id = ri.rule_id AND NOT r.retired AND NOT r.hidden"
            f" GROUP BY i.id"
            f") AS fresh WHERE {indicator}.id = fresh.id"
            f" AND ({indicator}.corpus_count <> fresh.n OR {indicator}.exclude_count <> fresh.x)",
            [Polarity.EXCLUDES.value, Polarity.LOOKS_FOR.value],
        )
