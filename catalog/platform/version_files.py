"""Objects kept on disk per catalog version, so that each process loads what the first one built.

What a process builds from the catalog's rows and keeps for a catalog version (the compiled matcher:
catalog.matching.stored; the rule lists' index: catalog.browse.queries.rule_index) it otherwise builds again in every
process after every import or curation. A `VersionFiles` writes it once, as a pickle, and the others load it.

A file is named by its kind (`prefix`), then:
- the catalog version's number and time (catalog.models.CatalogVersion: a database restored to an older number has
  another time), and the database it came from (settings: engine, name, host, port), hashed;
- the code that defines the pickled classes (`code`: the modules whose classes or logic the pickle holds, and the
  versions of Python and of the named packages): a deployment of new code never reads an old file.

It is written to a temporary file in the same folder and renamed into place (readers see the whole file or none),
in a folder only this user may write (CATALOG_MATCH_COMPILED_DIR, created 0700): a pickle runs code when loaded,
so a file that another user could have written, or a folder others may write to, is never read. Only the newest
`keep` files of a kind stay. An empty setting turns it off (the tests do: their rolled-back transactions reuse
versions).
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import logging
import os
import pickle
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cached_property
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)


class VersionFiles:
    def __init__(self, prefix: str, code: tuple[str, ...], packages: tuple[str, ...] = (), keep: int = 4):
        self.prefix, self.code, self.packages, self.keep = prefix, code, packages, keep

    @cached_property
    def code_version(self) -> str:
        digest = hashlib.sha256(sys.version.encode())
        for package in self.packages:
            try:
                digest.update(f"{package}={metadata.version(package)}".encode())
            except metadata.PackageNotFoundError:
                digest.update(package.encode())
        for name in self.code:
            module = sys.modules.get(name) or importlib.import_module(name)
            digest.update(Path(module.__file__).read_bytes())
        return digest.hexdigest()[:16]

    @staticmethod
    def folder() -> Path | None:
        value = getattr(settings, "CATALOG_MATCH_COMPILED_DIR", "")
        return Path(value) if value else None

    def file_name(self, number: int, changed_at) -> str:
        database = connection.settings_dict
        where = "|".join(str(database.get(k) or "") for k in ("ENGINE", "NAME", "HOST", "PORT"))
        key = hashlib.sha256(f"{where}|{number}|{changed_at.isoformat() if changed_at else ''}".encode()).hexdigest()
        return f"{self.prefix}-{number}-{key[:16]}-{self.code_version}.pickle"

    def load(self, number: int, changed_at):
        """What is stored for this version, or None (none stored, unreadable, or not safe to read)."""
        where = self.folder()
        if where is None or not number:
            return None
        path = where / self.file_name(number, changed_at)
        try:
            if not (_safe(where) and _safe(path)):
                log.warning("not reading %s: the folder or the file may be written by other users", path)
                return None
            data = path.read_bytes()
            collecting = gc.isenabled()
            gc.disable()  # many objects, none of them garbage: the collector's passes cost most of a load
            try:
                return pickle.loads(data)
            finally:
                if collecting:
                    gc.enable()
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged or stale file: build instead, and say so
            log.warning("cannot read %s: %s", path, exc)
            return None

    def save(self, value, number: int, changed_at) -> Path | None:
        """Write `value` for this version (atomically) and prune older files; None when turned off or failed."""
        where = self.folder()
        if where is None or not number:
            return None
        try:
            where.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = where / self.file_name(number, changed_at)
            handle, temporary = tempfile.mkstemp(dir=where, prefix=".writing-", suffix=".pickle")
            try:
                with os.fdopen(handle, "wb") as out:
                    pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            self._prune(where)
            return path
        except Exception as exc:  # noqa: BLE001 - a full or read-only disk costs a build, never a request
            log.warning("cannot store %s in %s: %s", self.prefix, where, exc)
            return None

    def _prune(self, where: Path) -> None:
        files = []
        for path in where.glob(f"{self.prefix}-*.pickle"):
            try:
                files.append((path.stat().st_mtime, path))
            except FileNotFoundError:
                continue
        for _, path in sorted(files, reverse=True)[self.keep :]:
            path.unlink(missing_ok=True)
        for path in where.glob(".writing-*.pickle"):  # left by a process killed while writing, an hour ago
            try:
                if path.stat().st_mtime < time.time() - 3600:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue


class KeptPerVersion:
    """The one object of a kind that a process keeps for the catalog version it serves (its `key`: the version's
    (number, time), catalog.models.CatalogVersion.state): loaded from `files` when another process stored it for
    that version, else built (`build(key)`) and stored; one thread builds it while the others wait. `loaded` is
    applied to what is read from a file (e.g. making its arrays read-only, as `build` does)."""

    def __init__(self, files: VersionFiles, build: Callable, loaded: Callable = lambda value: value):
        self.files, self.build, self.loaded = files, build, loaded
        self._lock = threading.Lock()
        self.kept = None

    def current(self, key: tuple | None = None):
        """The object of version `key` (the database's current one when None), the kept one when it is that."""
        from catalog.models import CatalogVersion

        key = key or CatalogVersion.state()
        kept = self.kept
        if kept is not None and kept.key == key:
            return kept
        with self._lock:
            kept = self.kept
            if kept is None or kept.key != key:
                kept = self._stored(key)  # stored for this very version: kept as it is
                if kept is None:
                    kept = self.build(key)
                    if CatalogVersion.state() != key:  # changed meanwhile: the rows read may be a later version's
                        return kept
                    self.files.save(kept, *key)
                self.kept = kept
        return kept

    def forget(self) -> None:
        """Keep nothing in this process (the next `current` loads or builds): what another process starts with."""
        self.kept = None

    def _stored(self, key: tuple):
        found = self.files.load(*key)
        return self.loaded(found) if found is not None and getattr(found, "key", None) == key else None


def _safe(path: Path) -> bool:
    """Ours, and writable by no one else (the folder or the file)."""
    status = path.stat()
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
