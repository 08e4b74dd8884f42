"""What a bulk import does around its writes: the garbage collector set aside, the planner's statistics refreshed,
the rules table vacuumed (catalog.importing.importer)."""

from __future__ import annotations

import contextlib
import gc

from django.db import connection

from catalog.models import Indicator, Predicate, Rule, RuleIndicator, RuleReference, Stage
from catalog.models.search import RuleSearch
from catalog.search.ranking import FTS_TABLE
from catalog.search.substring import INDICATOR_TRIGRAMS

ANALYZE_AFTER = 500  # rules written, from which the planner's statistics are refreshed


@contextlib.contextmanager
def gc_skips_what_came_before():
    """An import allocates hundreds of thousands of objects, each full collection would walk every object
    the process already had (Django, pySigma, ...) again: they are set aside until the import is done. And no
    collection runs meanwhile: the import's own objects hold no cycles (rows, the workers' tuples and strings)
    and go by reference counting; collecting cost 0.4 of 4.4 CPU-s at SigmaHQ's size and freed nothing."""
    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()  # forked parser workers turn it back on (pool.py): parsing does make cycles (pySigma's)
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def refresh_statistics() -> None:
    """PostgreSQL plans from table statistics; right after a bulk load they describe empty tables
    and the rule page's queries run 10x slower until autovacuum catches up (measured: 10 ms vs 0.7 ms).
    SQLite keeps none until ANALYZE: without them it sorted every rule of a broad filter by title
    instead of walking the title index to the page's end (20x SigmaHQ, `?level=high&level=critical`:
    77 ms -> 0.2 ms). ANALYZE takes 0.2 s at SigmaHQ's size, 3 s at 20x."""
    if connection.vendor in ("postgresql", "sqlite"):
        tables = [m._meta.db_table for m in (Rule, Stage, Predicate, Indicator, RuleIndicator, RuleReference)]
        tables += [
            Rule.tactics.through._meta.db_table,
            Rule.techniques.through._meta.db_table,
            Rule.events.through._meta.db_table,
        ]
        names = [connection.ops.quote_name(t) for t in tables]
        # PostgreSQL analyzes a list of tables in one statement, SQLite one table at a time.
        if connection.vendor == "postgresql":
            statements = ["ANALYZE " + ", ".join(names)]
        else:
            statements = [f"ANALYZE {name}" for name in names]
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def merge_full_text_segments() -> None:
    """After a large import, merge each SQLite full-text index (FTS5) into one segment ('optimize'). An import adds
    its rows in many segments, and every query reads each of them: at 20x SigmaHQ a rowid lookup with MATCH (the
    snippets of a page) cost 30 us before, 8 after, and the page's 50 snippets 3.4 ms, 1.4 after; counting
    `powershell`'s matches 0.9 ms, 0.5 after. The merge takes 1.3 s at 20x, a fraction of the import. PostgreSQL's
    GIN indexes are merged by VACUUM instead (vacuum_rules). Runs inside the import's transaction."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for table in (FTS_TABLE, INDICATOR_TRIGRAMS):
                cursor.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")


def vacuum_rules() -> None:
    """After a large import is committed, VACUUM the rule tables on PostgreSQL. The rule table's visibility map then
    lets counts and list pages read the narrow indexes alone (index-only scans) instead of every wide rule row
    (measured at 20x SigmaHQ: COUNT of live rules 400 ms -> a few ms). And the GIN indexes (the search documents'
    vectors and titles, the indicators' trigrams) take the entries an import left in their pending lists: until
    then every search read the whole list (at 20x 369 pages for the titles' index: 5 ms for any word, 21 ms for
    `powershell`, against 1-7 ms after). VACUUM cannot run in a transaction, so inside one (a caller's, or a
    test's) this is left to autovacuum."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        tables = [
            Rule._meta.db_table,
            Rule.tactics.through._meta.db_table,
            Rule.techniques.through._meta.db_table,
            RuleSearch._meta.db_table,
            Indicator._meta.db_table,
        ]
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) " + ", ".join(connection.ops.quote_name(t) for t in tables))
