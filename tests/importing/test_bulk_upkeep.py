"""After a large import the full-text indexes are merged: PostgreSQL's GIN indexes hold no pending entries
(catalog.importing.bulk_upkeep.vacuum_rules) and SQLite's FTS5 indexes are one segment each
(merge_full_text_segments): a search reads the index itself, not the pieces an import left unmerged."""

import pytest
from django.db import connection

from catalog.importing import importer
from catalog.importing.bulk_upkeep import merge_full_text_segments, vacuum_rules
from catalog.importing.importer import import_paths
from catalog.models import Rule
from catalog.search.ranking import FTS_TABLE, matching_ids
from catalog.search.substring import INDICATOR_TRIGRAMS

pytestmark = pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction only
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GIN pending lists")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 segments")
GIN_INDEXES = ("catalog_rulesearch_title_gin", "catalog_rulesearch_vector_gin", "catalog_indicator_value_trgm")
RULE = """title: Pending List Rule {n}
id: 0b7b1b3c-5a80-4f55-9a64-{n:012d}
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'pendingvalue{n}'
    condition: selection
level: low
"""


def pending_pages(index: str) -> int:
    """The pages in the index's pending list (merging them into the index: each call empties the list)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        return cursor.fetchone()[0]


def write_rules(folder, first: int, count: int):
    folder.mkdir(exist_ok=True)
    for n in range(first, first + count):
        (folder / f"rule_{n}.yml").write_text(RULE.format(n=n), encoding="utf-8")


@on_postgresql
def test_vacuum_after_an_import_leaves_no_pending_entries(tmp_path):
    folder = tmp_path / "rules"
    write_rules(folder, 1, 5)
    assert not import_paths([str(folder)], source="local").errors  # a small import: no vacuum
    assert all(pending_pages(index) > 0 for index in GIN_INDEXES)  # what an import leaves, unless vacuumed

    write_rules(folder, 6, 5)
    assert not import_paths([str(folder)], source="local").errors
    vacuum_rules()  # what a large import runs once committed
    assert [pending_pages(index) for index in GIN_INDEXES] == [0, 0, 0]


def segments() -> list[int]:
    """The segments of each FTS5 index (its %_idx table lists each segment's pages)."""
    with connection.cursor() as cursor:
        found = []
        for table in (FTS_TABLE, INDICATOR_TRIGRAMS):
            cursor.execute(f"SELECT count(DISTINCT segid) FROM {table}_idx")
            found.append(cursor.fetchone()[0])
        return found


@on_sqlite
def test_merging_leaves_one_segment_per_index_and_the_same_answers(tmp_path):
    folder = tmp_path / "rules"
    for first in (1, 4, 7):  # each import writes its own segments
        write_rules(folder, first, 3)
        assert not import_paths([str(folder)], source="local").errors
    assert all(n > 1 for n in segments())
    before = matching_ids("pendingvalue4")

    merge_full_text_segments()

    assert segments() == [1, 1]
    assert matching_ids("pendingvalue4") == before == {Rule.objects.get(title="Pending List Rule 4").pk}


@on_sqlite
def test_a_large_import_merges_the_segments(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    write_rules(folder, 1, 3)
    assert not import_paths([str(folder)], source="local").errors
    write_rules(folder, 4, 3)
    assert not import_paths([str(folder)], source="local").errors
    assert all(n > 1 for n in segments())  # two small imports: left to FTS5's own merging

    monkeypatch.setattr(importer, "ANALYZE_AFTER", 3)  # this import counts as a large one
    write_rules(folder, 7, 3)
    assert not import_paths([str(folder)], source="local").errors
    assert segments() == [1, 1]


def test_a_large_import_stores_the_new_version_s_lists(tmp_path, monkeypatch, settings):
    """The rule index and the champion lists are built by the import and stored for the web processes to load."""
    from catalog.browse.queries import broad_words, rule_index
    from catalog.models import CatalogVersion

    settings.CATALOG_MATCH_COMPILED_DIR = str(tmp_path / "kept")
    folder = tmp_path / "rules"
    write_rules(folder, 1, 3)
    assert not import_paths([str(folder)], source="local").errors
    assert not list((tmp_path / "kept").glob("*.pickle"))  # a small import: left to the first list

    monkeypatch.setattr(importer, "ANALYZE_AFTER", 3)
    monkeypatch.setattr(broad_words, "BROAD_TITLES", 3)  # "pending", "list", "rule" are in every title
    write_rules(folder, 4, 3)
    assert not import_paths([str(folder)], source="local").errors
    key = CatalogVersion.state()
    for files in (rule_index.FILES, broad_words.FILES):
        assert (tmp_path / "kept" / files.file_name(*key)).is_file()
    rule_index.KEPT.forget()
    broad_words.KEPT.forget()
    six = set(Rule.objects.filter(title__startswith="Pending List Rule").values_list("pk", flat=True))
    assert len(six) == 6 and six <= set(broad_words.KEPT.current().words["pending"].titled.tolist())
    index = rule_index.current()
    assert index.key == key and all(index.state[pk] == rule_index.LIVE for pk in six)
