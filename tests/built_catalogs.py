"""Catalogs built once per test run and copied for every test process and live site that reads them.

Two are built: "sigmahq" (the snapshot's 3,780 rules: a 30-60 s import) and "examples" (rules/:
quick to import, but `migrate` takes seconds too). Copying a built catalog takes about a second
(SQLite's backup API; PostgreSQL's `CREATE DATABASE ... TEMPLATE`). The first process of a run that
needs one builds it as a deployment would (`manage.py migrate`, `import_rules`, see benchmarks/site.py),
under a file lock in the folder the run's processes share; the others wait for it and copy it.
Nobody writes to a built catalog: it is only ever copied.

Names are per run and per process: a run's databases start with the name of its own database (the
`h6` of DATABASE_URL=.../h6), and each pytest-xdist worker (gw0, gw1, ...) adds its id, so two
workers, or two runs on different databases, never share a database.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from benchmarks.site import (
    build_database,
    clone_postgres_database,
    copy_sqlite_database,
    fresh_postgres_database,
)
from tests.constants import EXAMPLES, corpus_paths

# source name -> the rule folders its catalog is built from
SOURCES = {"sigmahq": corpus_paths, "examples": lambda: [str(EXAMPLES)]}


def worker_id() -> str:
    """This process's pytest-xdist worker id ("gw0", ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def run_folder(tmp_path_factory) -> Path:
    """The temporary folder every process of this run shares (xdist gives each worker a subfolder of it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


def postgres_run() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


def postgres_server() -> str:
    """The run's PostgreSQL server, at its maintenance database (the run's own database may not exist)."""
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"


def run_prefix() -> str:
    """The run's database name ("h6" for DATABASE_URL=.../h6; "postgres" in CI): prefixes the run's databases."""
    return os.environ["DATABASE_URL"].rsplit("/", 1)[1].split("?")[0] or "postgres"


def database_name(purpose: str) -> str:
    """A PostgreSQL database name of this run and this worker only, e.g. "h6_catalog_e2e_gw0"."""
    return f"{run_prefix()}_{purpose}_{worker_id()}"


def built_catalog(tmp_path_factory, source: str) -> str:
    """The URL of the run's built catalog of `source` (built by the first process to ask): copy it, never write."""
    folder = run_folder(tmp_path_factory)
    built = folder / f"built-{source}.url"
    with open(folder / f"built-{source}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        if not built.exists():
            if postgres_run():
                url = fresh_postgres_database(postgres_server(), template_name(source))
            else:
                url = f"sqlite:///{folder / f'built-{source}.sqlite3'}"
            build_database(url, SOURCES[source](), source=source)
            built.write_text(url, encoding="utf-8")
        return built.read_text(encoding="utf-8")


def template_name(source: str) -> str:
    return f"{run_prefix()}_built_{source}"


def drop_built_catalogs() -> None:
    """Drop this run's PostgreSQL templates (at the end of the run; SQLite's live in the run's temporary folder)."""
    import psycopg

    if not postgres_run():
        return
    try:
        with psycopg.connect(postgres_server().replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            for source in SOURCES:
                conn.execute(f'DROP DATABASE IF EXISTS "{template_name(source)}" WITH (FORCE)')
    except psycopg.OperationalError:
        pass  # no server: nothing was built on it


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database of this run's (a live site's, once served); SQLite's go with the temporary folder."""
    import psycopg

    if not url.startswith("postgres"):
        return
    with psycopg.connect(postgres_server().replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def catalog_copy(tmp_path_factory, source: str, purpose: str, tmp_dir: Path) -> str:
    """A private copy of the built catalog of `source`, e.g. for a live site: its URL (SQLite: a file in `tmp_dir`)."""
    template = built_catalog(tmp_path_factory, source)
    if postgres_run():
        return clone_postgres_database(postgres_server(), template_name(source), database_name(purpose))
    return copy_sqlite_database(Path(template.removeprefix("sqlite:///")), tmp_dir / f"{purpose}.sqlite3")


def replace_test_database(tmp_path_factory) -> None:
    """Make the session's test database a copy of the built SigmaHQ catalog (the example rules leave with it).

    SQLite's test database is in memory: the catalog is backed up into it. PostgreSQL's is dropped and
    created again from the template, under the same name, so pytest-django's teardown is unchanged.
    The catalog version ends above both databases' numbers, as the import it replaces would have left
    it: every in-process cache keyed by the version (compiled rules, field names) starts afresh.
    """
    import sqlite3

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from catalog.matching.engine import forget_compiled
    from catalog.models import CatalogVersion

    template = built_catalog(tmp_path_factory, "sigmahq")
    before = CatalogVersion.current()
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(template.removeprefix("sqlite:///"))
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    else:
        name = connection.settings_dict["NAME"]
        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name("sigmahq")}"')
    number = max(before, CatalogVersion.current()) + 1
    CatalogVersion.objects.update_or_create(pk=1, defaults={"number": number})
    forget_compiled()
    ContentType.objects.clear_cache()
