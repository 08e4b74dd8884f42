"""The compiled catalog kept on disk per catalog version, so that a scan, a worker or a web process loads it
instead of compiling it.

Compiling SigmaHQ's ~3,800 rules from their rows (catalog.matching.compiled.build) costs about 2 s of CPU in every
process, after every import or curation; loading the pickle written by the first process to compile that version
costs a fraction of it (benchmarks/scan_bench.py prints both). The file is named by:

- the catalog version's number and time (catalog.models.CatalogVersion: a database restored to an older number
  has another time), and the database it came from (settings: engine, name, host, port), hashed;
- the code that defines the pickled classes (this package's and catalog.core.sigma's modules that build and run
  the compiled catalog, pySigma's and Python's versions): a deployment of new code never reads an old file.

It is written to a temporary file in the same folder and renamed into place (readers see the whole file or none),
in a folder only this user may write (CATALOG_MATCH_COMPILED_DIR, created 0700): a pickle runs code when loaded,
so a file that another user could have written, or a folder others may write to, is never read. Only the newest
KEEP files stay. An empty setting turns it off (the tests do: their rolled-back transactions reuse versions).

What is pickled is what `build` made, before any event was matched: the per-log-source indexes and the RE2
programs are built lazily by each process and are never written (CompiledCatalog and Pattern say so in their
pickled state), so nothing an event or a request leaves in memory reaches a file or another process.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
import time
from functools import cache
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)
KEEP = 4  # files kept in the folder (several databases or versions in use at once)
# The modules whose classes or logic the pickle holds: a change to any of them names new files.
CODE = (
    "catalog.core.sigma.evaluate",
    "catalog.core.sigma.values",
    "catalog.core.sigma.patterns",
    "catalog.core.sigma.requirements",
    "catalog.core.sigma.index",
    "catalog.core.sigma.expansion",
    "catalog.matching.compiled",
    "catalog.matching.stored",
)


@cache
def code_version() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for package in ("pysigma", "google-re2", "pyahocorasick"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(package.encode())
    for name in CODE:
        digest.update(Path(sys.modules[name].__file__ if name in sys.modules else _path(name)).read_bytes())
    return digest.hexdigest()[:16]


def _path(module: str) -> str:
    import importlib

    return importlib.import_module(module).__file__


def folder() -> Path | None:
    value = getattr(settings, "CATALOG_MATCH_COMPILED_DIR", "")
    return Path(value) if value else None


def file_name(number: int, changed_at) -> str:
    database = connection.settings_dict
    where = "|".join(str(database.get(k) or "") for k in ("ENGINE", "NAME", "HOST", "PORT"))
    key = hashlib.sha256(f"{where}|{number}|{changed_at.isoformat() if changed_at else ''}".encode()).hexdigest()
    return f"catalog-{number}-{key[:16]}-{code_version()}.pickle"


def _safe(path: Path) -> bool:
    """Ours, and writable by no one else (the folder or the file)."""
    status = path.stat()
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load(number: int, changed_at):
    """The compiled catalog stored for this version, or None (none stored, unreadable, or not safe to read)."""
    where = folder()
    if where is None or not number:
        return None
    path = where / file_name(number, changed_at)
    try:
        if not (_safe(where) and _safe(path)):
            log.warning("not reading %s: the folder or the file may be written by other users", path)
            return None
        with open(path, "rb") as handle:
            data = handle.read()
        collecting = gc.isenabled()
        gc.disable()  # ~200,000 objects, none of them garbage: the collector's passes cost 3/4 of the load
        try:
            return pickle.loads(data)
        finally:
            if collecting:
                gc.enable()
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged or stale file: compile instead, and say so
        log.warning("cannot read the stored compiled catalog %s: %s", path, exc)
        return None


def save(catalog, number: int, changed_at) -> Path | None:
    """Write the catalog for this version (atomically) and prune older files; None when turned off or failed."""
    where = folder()
    if where is None or not number:
        return None
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = where / file_name(number, changed_at)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=".writing-", suffix=".pickle")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump(catalog, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _prune(where)
        return path
    except Exception as exc:  # noqa: BLE001 - a full or read-only disk costs a compile, never a match
        log.warning("cannot store the compiled catalog in %s: %s", where, exc)
        return None


def _prune(where: Path) -> None:
    files = []
    for path in where.glob("catalog-*.pickle"):
        try:
            files.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue
    for _, path in sorted(files, reverse=True)[KEEP:]:
        path.unlink(missing_ok=True)
    for path in where.glob(".writing-*.pickle"):  # left by a process killed while writing, an hour ago
        try:
            if path.stat().st_mtime < time.time() - 3600:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
