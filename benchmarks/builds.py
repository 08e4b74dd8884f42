"""The catalog databases the benchmarks serve, built once per engine and corpus scale and kept under BENCH_CACHE.

A kept build is `search-x<N>.sqlite3` (SQLite) or the PostgreSQL database `<BENCH_PG_PREFIX><N>`, with a marker
`<name>.built` naming the folders it was imported from; a run whose folders match only migrates it (a no-op when
current) and serves it. benchmarks.import_bench's cold import *is* such a build: it hands its database over
(`adopt`), so a full `make bench` imports each scale once per engine, not twice, and its builds are always the
current importer's. Delete BENCH_CACHE (and drop the `<prefix><N>` databases) to rebuild from scratch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.site import ROOT, build_database, fresh_postgres_database

CACHE = Path(os.environ.get("BENCH_CACHE", "/tmp/catalog-bench"))
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# The kept PostgreSQL databases are `<prefix>N` (N: the scale): a prefix of your own keeps runs apart.
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "bench")
FOLDERS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-placeholder"]


def corpus_paths(corpus: Path, scale: int) -> list[str]:
    """The folders of SigmaHQ (scale 1) or of its `scale` synthetic copies (written once under CACHE)."""
    if scale == 1:
        return [str(corpus / f) for f in FOLDERS]
    from benchmarks import synthetic_corpus

    return synthetic_corpus.build(corpus, scale, CACHE / f"sigma-x{scale}")


def sqlite_path(scale: int) -> Path:
    return CACHE / f"search-x{scale}.sqlite3"


def pg_url(name: str) -> str:
    return PG_SERVER.rsplit("/", 1)[0] + "/" + name


def marker(engine: str, scale: int) -> Path:
    name = sqlite_path(scale).name if engine == "sqlite" else f"{PG_PREFIX}{scale}"
    return CACHE / f"{name}.built"


def built(database_url: str, paths: list[str], marker: Path, reset) -> None:
    """Build the database unless `marker` says an earlier run built it from these folders."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wanted = "\n".join(paths)
    if marker.exists() and marker.read_text() == wanted:
        return
    marker.unlink(missing_ok=True)
    reset()
    started = time.perf_counter()
    build_database(database_url, paths)
    print(f"built {database_url} in {time.perf_counter() - started:.0f} s", flush=True)
    marker.write_text(wanted)


def unlink_sqlite(sqlite_url: str) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def migrated(url: str) -> str:
    """A kept database brought to the current schema (a no-op when it is), with the cache tables."""
    env = dict(os.environ, DATABASE_URL=url, DEBUG="0")
    for command in (["migrate", "--noinput", "-v0"], ["createcachetable", "-v0"]):
        subprocess.run([sys.executable, str(ROOT / "manage.py"), *command], env=env, check=True, cwd=ROOT)
    return url


def database(engine: str, scale: int, corpus: Path) -> str | None:
    """The URL of the kept build for (engine, scale), built first when missing; None when PostgreSQL is not there."""
    paths = corpus_paths(corpus, scale)
    if engine == "sqlite":
        url = f"sqlite:///{sqlite_path(scale)}"
        built(url, paths, marker(engine, scale), reset=lambda: unlink_sqlite(url))
        return migrated(url)
    name = f"{PG_PREFIX}{scale}"
    try:
        url = pg_url(name)
        built(url, paths, marker(engine, scale), reset=lambda: fresh_postgres_database(PG_SERVER, name))
    except Exception as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return None
    return migrated(url)


def scratch(engine: str) -> str:
    """A fresh, empty database for a timed import (benchmarks.import_bench), on the same disk as the kept builds."""
    if engine == "sqlite":
        CACHE.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{CACHE / 'import-scratch.sqlite3'}"
        unlink_sqlite(url)
        return url
    return fresh_postgres_database(PG_SERVER, os.environ.get("BENCH_PG_NAME") or f"{PG_PREFIX}import")


def adopt(engine: str, scale: int, url: str, paths: list[str]) -> None:
    """Make the database at `url` (a complete import of `paths`) the kept build for (engine, scale): a rename."""
    CACHE.mkdir(parents=True, exist_ok=True)
    mark = marker(engine, scale)
    mark.unlink(missing_ok=True)
    if engine == "sqlite":
        source = Path(url.removeprefix("sqlite:///"))
        unlink_sqlite(f"sqlite:///{sqlite_path(scale)}")
        for suffix in ("", "-wal", "-shm"):  # the importing process has exited: the WAL is checkpointed, if any
            if Path(f"{source}{suffix}").exists():
                os.replace(f"{source}{suffix}", f"{sqlite_path(scale)}{suffix}")
    else:
        import psycopg

        name, target = url.rsplit("/", 1)[1], f"{PG_PREFIX}{scale}"
        admin = PG_SERVER.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            conn.execute(f'ALTER DATABASE "{name}" RENAME TO "{target}"')
    mark.write_text("\n".join(paths))
