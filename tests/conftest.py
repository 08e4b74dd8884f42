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

SigmaHQ is imported once per run (tests/built_catalogs.py) and copied: into the session database of
each process that runs corpus tests, and into the database of each live site that serves it. Under
pytest-xdist (scripts/test.sh) every worker has its own test database, live-site databases and ports;
how tests are spread over workers and database kinds is in tests/suite_layout.py.

Browser modules get `site` (a catalog served by gunicorn, as the module's SITE says) and `browser`
(headless Chromium) from here, both module-scoped.
"""

import os
import shutil

import pytest
from _pytest import unraisableexception
from django.core.management import call_command

from tests.built_catalogs import catalog_copy, drop_built_catalogs, replace_test_database, run_folder

# Re-exported for tests written before tests/constants.py existed; new code imports from there.
from tests.constants import CORPUS, CORPUS_FOLDERS, EXAMPLES, REFERENCE_RULE_ID, ROOT, corpus_paths  # noqa: F401
from tests.suite_layout import database_free, reads_corpus, run_order, site_config, site_group


def pytest_addoption(parser):
    parser.addoption(
        "--skip-database-free",
        action="store_true",
        help="leave out the tests that can reach no database, and those marked one_database (scripts/test.sh: "
        "the SQLite pass runs them)",
    )
    parser.addoption(
        "--skip-postgresql-only",
        action="store_true",
        help="leave out the tests that use PostgreSQL whatever the run's database (scripts/test.sh: the PostgreSQL "
        "pass runs them)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "corpus: the test reads the SigmaHQ snapshot in ../shared (slow to import)")
    config.addinivalue_line("markers", "database_free: the test can reach no database (set by tests/conftest.py)")
    config.addinivalue_line("markers", "server_error_expected: the test means to see a 500 from the test client")
    config.addinivalue_line(
        "markers", "long: a whole-corpus pass of tens of seconds, started first among its kind (tests/suite_layout.py)"
    )
    config.addinivalue_line(
        "markers", "postgresql_only: the test builds its own PostgreSQL database whatever the run's database"
    )
    config.addinivalue_line(
        "markers",
        "one_database: a whole-corpus computation in Python over rules it reads with a query other tests run on "
        "both databases; the database kind can't change its answer, so it runs in the SQLite pass only",
    )
    # At its end, each pytest process (each xdist worker of a run) runs five full garbage collections to surface
    # exceptions raised in finalizers ("unraisable"): on a worker's heap after the SigmaHQ tests about 0.7 CPU-s
    # each (a profile of the SQLite pass: 14 CPU-s in all), in the last seconds of a pass. One collection finds
    # every object unreachable by then; the plugin still reports what it finds, and the hook that catches them
    # during the tests is untouched.
    config.stash[unraisableexception.gc_collect_iterations_key] = 1


def pytest_itemcollected(item):
    """The marker and the fixture mean the same: a marked test gets `corpus`, a test using it the marker.

    `corpus` goes first among the test's fixtures, so its session-scoped import runs before the
    test's transaction opens (and is not rolled back with it). The marker lets `-m "not corpus"`
    leave every corpus test out. Also marked here: database-free tests, and each module's live-site
    tests as one xdist group (tests/suite_layout.py).
    """
    uses_fixture = reads_corpus(item)
    if uses_fixture and not item.get_closest_marker("corpus"):
        item.add_marker(pytest.mark.corpus)
    elif not uses_fixture and item.get_closest_marker("corpus"):
        item.fixturenames.insert(0, "corpus")
    if database_free(item):
        item.add_marker(pytest.mark.database_free)
    if group := site_group(item):
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Corpus tests last: the tests before them run on the example rules alone; long tests first among each kind
    (tests/suite_layout.py), stable otherwise."""
    for option, markers in (
        ("--skip-database-free", ("database_free", "one_database")),
        ("--skip-postgresql-only", ("postgresql_only",)),
    ):
        if config.getoption(option):
            left_out = [item for item in items if any(map(item.get_closest_marker, markers))]
            if left_out:
                config.hook.pytest_deselected(items=left_out)
                items[:] = [item for item in items if not any(map(item.get_closest_marker, markers))]
    items[:] = sorted(items, key=run_order)


def pytest_sessionfinish(session):
    """The run's built PostgreSQL catalogs go when the run ends (in the xdist controller, after every worker)."""
    if hasattr(session.config, "workerinput"):
        return
    if any(run_folder(session.config._tmp_path_factory).glob("built-*.url")):
        drop_built_catalogs()


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
def sigmahq_imported(corpus_dir, django_db_setup, django_db_blocker, tmp_path_factory):
    """SigmaHQ's five rule folders in the session database (committed), before the first test that reads them.

    The example rules leave: corpus tests see a catalog of SigmaHQ alone, as a deployment that
    imported only it (every test that reads the example rules has already run). The database becomes
    a copy of the run's one import of SigmaHQ (tests/built_catalogs.py). Session-scoped fixtures are
    set up before the test's own transaction opens, so none of this is rolled back.
    """
    with django_db_blocker.unblock():
        replace_test_database(tmp_path_factory)


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
    """Delete a source with its rules and the indicators only they carried, as the admin does: one publish."""
    from catalog.models import Indicator, Rule, Source
    from catalog.publishing.deletion import deleting

    rules = Rule.objects.filter(source__name=name)
    with deleting():
        touched = set(Indicator.objects.filter(rule_indicators__rule__in=rules).values_list("pk", flat=True))
        rules.delete()
        Indicator.objects.filter(pk__in=touched, rule_indicators__isnull=True).delete()
        Source.objects.filter(name=name).delete()


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
def no_stored_compiled_catalog(settings):
    """Tests roll back their transactions, so two of them can hold different catalogs under one version number:
    the compiled catalog is not stored on disk between processes (tests/matching/test_scanning.py turns it on)."""
    settings.CATALOG_MATCH_COMPILED_DIR = ""


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    """Tests see every page rendered afresh; tests/platform/test_page_cache.py turns the cache on itself."""
    settings.CATALOG_PAGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def fresh_fragments():
    """Each test starts with no kept fragment (catalog.platform.fragments): a rolled-back test's rule ids come
    back in the next test, under the same catalog version, as other rules."""
    from django.core.cache import caches

    caches["fragments"].clear()


@pytest.fixture(autouse=True)
def no_answer_is_a_server_error(request, monkeypatch):
    """A test-client request answered with a 500 fails its test, whatever the test goes on to check: no test
    passes on a server error by reading only the body or a count. A test that means to see one is marked
    `server_error_expected`."""
    if request.node.get_closest_marker("server_error_expected"):
        return
    from django.test.client import Client

    real_request = Client.request

    def checked(self, **kwargs):
        response = real_request(self, **kwargs)
        assert response.status_code != 500, f"{kwargs.get('PATH_INFO')}: the server answered 500"
        return response

    monkeypatch.setattr(Client, "request", checked)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Test users get MD5-hashed passwords: the production hasher spends ~0.5 s per user on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def site(request, tmp_path_factory):
    """A catalog served by gunicorn, in a database of its own on the run's kind, for one module's browser tests.

    The module's SITE says what it holds (tests/suite_layout.py has the defaults):
    "rules": "examples" or "sigmahq" (a copy of the run's built catalog, tests/built_catalogs.py), or a
    list of rule folders to import as "source"; "production" (DEBUG off, collected static files; the
    default) or not; "base_url": the source's upstream base URL; "name": names its database; "corpus":
    True when its rule folders are SigmaHQ's (the module's tests then count as corpus tests); "warm_matcher":
    True when its tests match events in gunicorn; "task_worker": True when they queue background tasks
    (tests/browser.py).
    """
    from tests.browser import catalog_site

    config = site_config(request.module)
    if config["rules"] == "sigmahq" or config.get("corpus"):
        request.getfixturevalue("corpus_dir")  # skips, or fails under CI, without the snapshot
    name = config.get("name") or request.module.__name__.rsplit(".", 1)[-1]
    tmp_dir = tmp_path_factory.mktemp(name)
    if isinstance(config["rules"], str):
        paths, source = [], config["rules"]
        database_url = catalog_copy(tmp_path_factory, source, name, tmp_dir)
    else:
        paths, source, database_url = config["rules"], config["source"], ""
    with catalog_site(
        tmp_dir,
        name,
        paths,
        source,
        base_url=config["base_url"],
        production=config["production"],
        database_url=database_url,
        warm_matcher=config["warm_matcher"],
        task_worker=config["task_worker"],
    ) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (tests/browser.py), one per module."""
    from tests.browser import chromium

    with chromium() as browser:
        yield browser
