"""The rule lists' index is stored per catalog version (catalog.platform.version_files): the first process builds it,
the others load it, and only a file this user alone can write, of this version and code, is ever read."""

import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.browse.queries import rule_index
from catalog.models import CatalogVersion

pytestmark = pytest.mark.django_db


def same_index(a, b) -> bool:
    return (a.key, a.state.tobytes(), a.tested.tobytes(), a.labels, a.live_count) == (
        b.key,
        b.state.tobytes(),
        b.tested.tobytes(),
        b.labels,
        b.live_count,
    ) and all(
        a.groups[k].codes.tobytes() == b.groups[k].codes.tobytes() and a.groups[k].values == b.groups[k].values
        for k in a.groups
    )


def test_built_once_then_loaded_without_reading_a_rule(example_rules, settings, tmp_path):
    folder = tmp_path / "kept"
    settings.CATALOG_MATCH_COMPILED_DIR = str(folder)
    rule_index.KEPT.forget()
    built = rule_index.current()
    files = list(folder.glob("rule-index-*.pickle"))
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == "0o600"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"

    rule_index.KEPT.forget()  # another process: nothing in memory
    with CaptureQueriesContext(connection) as queries:
        loaded = rule_index.current()
    assert loaded is not built and same_index(loaded, built)
    assert not [q["sql"] for q in queries if "catalog_rule" in q["sql"]]  # no rule row read: the file was

    os.chmod(folder, 0o777)  # a folder others may write to is never read: built again
    rule_index.KEPT.forget()
    with CaptureQueriesContext(connection) as queries:
        again = rule_index.current()
    assert same_index(again, built) and [q["sql"] for q in queries if "catalog_rule" in q["sql"]]
    os.chmod(folder, 0o700)


def test_a_new_catalog_version_never_reads_the_old_file(example_rules, settings, tmp_path):
    settings.CATALOG_MATCH_COMPILED_DIR = str(tmp_path / "kept")
    rule_index.KEPT.forget()
    before = rule_index.current()
    CatalogVersion.objects.filter(pk=1).update(number=CatalogVersion.state()[0] + 1)
    after = rule_index.current()
    assert after.key == CatalogVersion.state() != before.key
    assert len(list((tmp_path / "kept").glob("rule-index-*.pickle"))) == 2


def test_turned_off_by_an_empty_setting(example_rules, settings, tmp_path):
    settings.CATALOG_MATCH_COMPILED_DIR = ""
    rule_index.KEPT.forget()
    assert rule_index.current().public.any() and rule_index.FILES.save(object(), 1, None) is None


def test_the_shared_index_cannot_be_changed_in_place(example_rules, settings, tmp_path):
    """Every request of a process shares the index: its arrays are read-only, built or loaded."""
    settings.CATALOG_MATCH_COMPILED_DIR = str(tmp_path / "kept")
    rule_index.KEPT.forget()
    built = rule_index.current()
    rule_index.KEPT.forget()
    loaded = rule_index.current()
    for index in (built, loaded):
        for array in (index.state, index.tested, index.groups["scalar"].codes):
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 1
