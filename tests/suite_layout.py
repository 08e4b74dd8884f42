"""How the suite is laid out over databases and pytest-xdist workers (used by tests/conftest.py's hooks).

- Corpus tests read the SigmaHQ snapshot (the `corpus` or `corpus_dir` fixture, the `corpus` marker, or
  a live site whose module's SITE holds SigmaHQ); each process runs them after all its other tests.
- Database-free tests can reach no database: scripts/test.sh runs them in the SQLite pass only.
- Tests of one module's live site (or of its own two-node database) form one xdist group, so it is built once.
- Long tests (marked `long`: a whole-corpus pass of tens of seconds) start first among the tests of their kind, so
  that the run ends on short tests spread over every worker, not one worker finishing a long one alone.
"""

from __future__ import annotations

import functools
import inspect
import re

CORPUS_FIXTURES = ("corpus", "corpus_dir")

# Fixtures that give a test a database, in this process or in a server it starts.
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "django_db_setup",
    "live_server",
    "site",
    "database_url",
    "corpus",
    "sigmahq_imported",
}
# What in a module's source means its tests may reach a database past pytest-django's guard (which
# only stops this process without a database fixture), or behave by the database kind without connecting.
OUTSIDE_THE_GUARD = re.compile(
    r"django_db_blocker|\bsubprocess\b|\bmultiprocessing\b|ProcessPool|DATABASE|manage\.py|\bserve\("
    r"|build_database|psycopg|sqlite|\bconnections?\b|\.vendor\b"
)


def site_config(module) -> dict:
    """The module's SITE (what its `site` fixture serves), with the defaults filled in."""
    defaults = {
        "rules": "examples",
        "source": None,
        "production": True,
        "base_url": "",
        "warm_matcher": False,
        "task_worker": False,
    }
    return {**defaults, **getattr(module, "SITE", {})}


def site_reads_corpus(module) -> bool:
    config = site_config(module)
    return config["rules"] == "sigmahq" or bool(config.get("corpus"))


def reads_corpus(item) -> bool:
    """Whether the test reads SigmaHQ through a fixture: `corpus`, `corpus_dir`, or a `site` of SigmaHQ rules."""
    names = set(getattr(item, "fixturenames", ()))
    return bool(set(CORPUS_FIXTURES) & names) or ("site" in names and site_reads_corpus(item.module))


def needs_corpus(item) -> bool:
    """Whether a collected test reads SigmaHQ: through a fixture (directly or via another) or the marker."""
    return reads_corpus(item) or bool(item.get_closest_marker("corpus"))


@functools.cache
def _reaches_outside_the_guard(module) -> bool:
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return True
    return bool(OUTSIDE_THE_GUARD.search(source))


def database_free(item) -> bool:
    """Whether the test can reach no database, so running it on a second database kind proves nothing new.

    In this process pytest-django refuses every database access to a test without a database fixture
    or marker; a test whose module starts processes, servers or names a database is counted as reaching one.
    """
    module = getattr(item, "module", None)
    if module is None or item.get_closest_marker("django_db") or needs_corpus(item):
        return False
    if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return False
    return not _reaches_outside_the_guard(module)


def run_order(item) -> tuple[bool, bool]:
    """The sort key of the collected tests: corpus tests last, long tests first among each kind (stable otherwise)."""
    return needs_corpus(item), not item.get_closest_marker("long")


# Module-scoped fixtures that build a module's own server or database (`database_url`: the two-node modules').
MODULE_SERVERS = {"site", "database_url"}


def site_group(item) -> str | None:
    """The xdist group of a test using a module's live site (or module-built database): all on one worker.

    Not for a test that also reads the session's SigmaHQ database: xdist's loadgroup hands out groups
    before single tests, and that would turn a worker's session database over to SigmaHQ too early.
    """
    names = set(getattr(item, "fixturenames", ()))
    if MODULE_SERVERS & names and not {"corpus", "sigmahq_imported"} & names:
        return f"site:{item.module.__name__}{_part(item)}"
    return None


def _part(item) -> str:
    """The share of a long browser module this test is in: a module whose SITE_SPLIT_BY names a parameter runs as
    one group per value of it (each on its own worker, with its own copy of the site), so its tests run side by
    side instead of in one worker's row to the end of the run. Tests without that parameter join the first share."""
    by = getattr(item.module, "SITE_SPLIT_BY", None)
    params = getattr(getattr(item, "callspec", None), "params", {})
    return f"@{params[by]}" if by and by in params else ""
