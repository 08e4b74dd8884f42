"""Shared fixtures.

The SigmaHQ snapshot in ../shared/corpus/sigmahq is imported once per test session into the test
database (source "sigmahq"); every test then runs inside a transaction that is rolled back, so
tests may import, curate or break things freely without affecting each other.
Tests must not use `transaction=True` (it would flush the session's corpus).
"""

from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "rules"
CORPUS = (ROOT.parent / "shared" / "corpus" / "sigmahq").resolve()
CORPUS_FOLDERS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-placeholder"]
REFERENCE_RULE_ID = "1c67a717-32ba-409b-a45d-0fb704a73a81"


def corpus_paths() -> list[str]:
    return [str(CORPUS / folder) for folder in CORPUS_FOLDERS]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, holding the five SigmaHQ rule folders (3,780 rules)."""
    if not CORPUS.is_dir():
        pytest.exit(f"the shared SigmaHQ corpus is missing at {CORPUS}", returncode=2)
    with django_db_blocker.unblock():
        from catalog.importing.importer import import_paths

        report = import_paths(corpus_paths(), source="sigmahq")
        assert not report.errors, [str(p) for p in report.errors[:5]]


@pytest.fixture
def corpus(db):
    """Marks a test as reading the imported SigmaHQ corpus."""
    from catalog.models import Rule

    return Rule.objects.filter(source__name="sigmahq")


@pytest.fixture
def examples(tmp_path):
    """A private copy of the project's example rules, free to modify."""
    import shutil

    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target)
    return target


@pytest.fixture
def export_catalog(db, tmp_path):
    """Run `export_catalog` and return its records by id."""
    import json

    def run(**filters):
        out = tmp_path / "export.jsonl"
        call_command("export_catalog", output=str(out))
        return {record["id"]: record for record in map(json.loads, out.read_text(encoding="utf-8").splitlines())}

    return run


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    """Tests see every page rendered afresh; tests/test_page_cache.py turns the cache on itself."""
    settings.CATALOG_PAGE_CACHE_SECONDS = 0
