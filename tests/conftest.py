"""Shared fixtures: which rules the test database holds, and when.

The session's test database always holds the project's example rules (rules/, source "examples",
35 rules, imported in well under a second). The SigmaHQ snapshot (../shared/corpus/sigmahq, 3,780
rules, source "sigmahq") is imported only for tests that ask for it: by requesting the `corpus`
fixture (or `corpus_dir` for the files alone), or with `@pytest.mark.corpus`. Such tests prove
something about the real corpus; everything else runs on the example rules, so `pytest -k
something` needs neither ../shared nor the corpus import. The corpus tests run last; when the first of
them starts, the example rules leave and SigmaHQ is imported in their place. So every other test
sees the example rules only, also in a full run (none can lean on SigmaHQ without saying so), and
every corpus test sees SigmaHQ alone.

Without ../shared the corpus tests are skipped, each with the reason; under CI=true they fail
instead, because CI must run everything. `pytest -m "not corpus"` selects the fast part.

Every test runs inside a transaction that is rolled back, so tests may import, curate or break
things freely. Tests must not use `transaction=True` (it would flush the session's rules).
"""

import os
import shutil

import pytest
from django.core.management import call_command

# Re-exported for tests written before tests/constants.py existed; new code imports from there.
from tests.constants import CORPUS, CORPUS_FOLDERS, EXAMPLES, REFERENCE_RULE_ID, ROOT, corpus_paths  # noqa: F401

CORPUS_FIXTURES = ("corpus", "corpus_dir")


def needs_corpus(item) -> bool:
    """Whether a collected test reads SigmaHQ: through a fixture (directly or via another) or the marker."""
    return bool(set(CORPUS_FIXTURES) & set(getattr(item, "fixturenames", ()))) or bool(
        item.get_closest_marker("corpus")
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "corpus: the test reads the SigmaHQ snapshot in ../shared (slow to import)")


def pytest_itemcollected(item):
    """The marker and the fixture mean the same: a marked test gets `corpus`, a test using it the marker.

    `corpus` goes first among the test's fixtures, so its session-scoped import runs before the
    test's transaction opens (and is not rolled back with it). The marker lets `-m "not corpus"`
    leave every corpus test out.
    """
    uses_fixture = bool(set(CORPUS_FIXTURES) & set(getattr(item, "fixturenames", ())))
    if uses_fixture and not item.get_closest_marker("corpus"):
        item.add_marker(pytest.mark.corpus)
    elif not uses_fixture and item.get_closest_marker("corpus"):
        item.fixturenames.insert(0, "corpus")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Corpus tests last (stable otherwise): the tests before them run on the example rules alone."""
    items[:] = sorted(items, key=needs_corpus)


def missing_corpus():
    """Skip (on a developer machine) or fail (under CI) a test that needs the absent corpus."""
    reason = f"needs the SigmaHQ snapshot, which is missing at {CORPUS} (clone it there to run this test)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI runs every test, but this one {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, holding the example rules of rules/ (source "examples")."""
    from catalog.importing.importer import import_paths

    with django_db_blocker.unblock():
        report = import_paths([str(EXAMPLES)], source="examples")
        assert not report.errors, [str(p) for p in report.errors[:5]]


@pytest.fixture(scope="session")
def corpus_dir():
    """The SigmaHQ snapshot's folder (rule folders, deprecated/, regression_data/); skips when it is absent."""
    if not CORPUS.is_dir():
        missing_corpus()
    return CORPUS


@pytest.fixture(scope="session")
def sigmahq_imported(corpus_dir, django_db_setup, django_db_blocker):
    """SigmaHQ's five rule folders, imported (and committed) once, before the first test that reads them.

    The example rules leave first: corpus tests see a catalog of SigmaHQ alone, as a deployment
    that imported only it (every test that reads the example rules has already run). Session-scoped
    fixtures are set up before the test's own transaction opens, so none of this is rolled back.
    """
    from catalog.importing.importer import import_paths

    with django_db_blocker.unblock():
        remove_source("examples")
        report = import_paths(corpus_paths(), source="sigmahq")
        assert not report.errors, [str(p) for p in report.errors[:5]]


@pytest.fixture
def corpus(sigmahq_imported, db):
    """The imported SigmaHQ rules (source "sigmahq"); requesting it is what gets them imported."""
    from catalog.models import Rule

    return Rule.objects.filter(source__name="sigmahq")


@pytest.fixture
def example_rules(db):
    """The example rules of rules/ as the session imported them (source "examples")."""
    from catalog.models import Rule

    rules = Rule.objects.filter(source__name="examples")
    if not rules.exists():  # a corpus test: SigmaHQ has taken their place
        pytest.fail("the example rules are not in the database of corpus tests: use `examples` to import a copy")
    return rules


@pytest.fixture
def examples(request, tmp_path):
    """A private copy of rules/, free to modify, and not yet in the catalog.

    In a database test the session's import of rules/ is removed first (inside the test's
    transaction, so it comes back afterwards): the copy can then be imported under any source
    name and counts as new.
    """
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target)
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
        remove_source("examples")
    return target


@pytest.fixture
def generated_rules(db, tmp_path):
    """Import `count` small numbered rules (source "generated"): for tests that need more rules than rules/ has.

    About 0.3 s for 100 rules, against the corpus import's 10-40 s.
    """
    from catalog.importing.importer import import_paths

    def generate(count: int):
        folder = tmp_path / "generated"
        folder.mkdir()
        for n in range(count):
            (folder / f"generated_{n:04}.yml").write_text(
                f"title: Generated Rule {n:04}\n"
                f"id: 00000000-0000-4000-8000-{n:012d}\n"
                "status: test\n"
                "logsource:\n    product: windows\n    category: process_creation\n"
                f"detection:\n    selection:\n        CommandLine|contains: 'generated-{n}'\n    condition: selection\n"
                "level: low\n",
                encoding="utf-8",
            )
        report = import_paths([str(folder)], source="generated")
        assert not report.errors and report.created == count, [str(p) for p in report.errors[:5]]
        return report

    return generate


def remove_source(name: str) -> None:
    """Delete a source's rules, the indicators only they carried, and the source; recount the rest."""
    from catalog.models import CatalogVersion, Indicator, Rule, Source
    from catalog.visibility import recount_corpus

    rules = Rule.objects.filter(source__name=name)
    touched = set(Indicator.objects.filter(rule_indicators__rule__in=rules).values_list("pk", flat=True))
    rules.delete()
    Indicator.objects.filter(pk__in=touched, rule_indicators__isnull=True).delete()
    Source.objects.filter(name=name).delete()
    if Indicator.objects.filter(pk__in=touched).exists():  # shared with another source: their counts change
        recount_corpus()
    CatalogVersion.bump()


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


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Test users get MD5-hashed passwords: the production hasher spends ~0.5 s per user on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
