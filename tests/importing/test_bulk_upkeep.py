"""After a large import, PostgreSQL's GIN indexes hold no pending entries (catalog.importing.bulk_upkeep.vacuum_rules):
a search reads the index itself, not the list of entries an import left unmerged."""

import pytest
from django.db import connection

from catalog.importing.bulk_upkeep import vacuum_rules
from catalog.importing.importer import import_paths

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GIN pending lists"),
    pytest.mark.django_db(transaction=True),  # VACUUM runs outside a transaction only
]
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


def test_vacuum_after_an_import_leaves_no_pending_entries(tmp_path):
    folder = tmp_path / "rules"
    write_rules(folder, 1, 5)
    assert not import_paths([str(folder)], source="local").errors  # a small import: no vacuum
    assert all(pending_pages(index) > 0 for index in GIN_INDEXES)  # what an import leaves, unless vacuumed

    write_rules(folder, 6, 5)
    assert not import_paths([str(folder)], source="local").errors
    vacuum_rules()  # what a large import runs once committed
    assert [pending_pages(index) for index in GIN_INDEXES] == [0, 0, 0]
