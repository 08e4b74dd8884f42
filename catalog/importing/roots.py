"""Which server folders an import started from the admin may read.

An admin user is not a shell user: without a limit, a re-import (or an edited source folder)
could publish any YAML file the server can read. Admin-triggered imports therefore only read
folders inside `settings.CATALOG_IMPORT_ROOTS`. Paths are compared after resolving symlinks
(`..`, and links pointing out of an allowed folder, are followed first), so a link inside an
allowed folder cannot reach outside it. `import_rules` on the command line is not restricted.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


class RootNotAllowed(ValueError):
    """A folder an admin-triggered import may not read; the message says why."""


def allowed_roots() -> list[Path]:
    return [Path(root).resolve() for root in settings.CATALOG_IMPORT_ROOTS]


def check_root(folder: str) -> Path:
    """The resolved folder, or RootNotAllowed saying what is wrong with it."""
    allowed = allowed_roots()
    if not allowed:
        raise RootNotAllowed(
            "imports from the admin are turned off: CATALOG_IMPORT_ROOTS is empty "
            "(set it to the folders the admin may import from, or run manage.py import_rules)"
        )
    path = Path(folder).expanduser()
    if not path.is_absolute():
        raise RootNotAllowed(f"{folder}: not an absolute path")
    resolved = path.resolve()
    if not any(resolved == root or root in resolved.parents for root in allowed):
        shown = f"{folder} (resolves to {resolved})" if str(resolved) != folder else folder
        raise RootNotAllowed(
            f"{shown} is outside the folders the admin may import from "
            f"(CATALOG_IMPORT_ROOTS: {':'.join(str(root) for root in allowed)})"
        )
    if not resolved.is_dir():
        raise RootNotAllowed(f"{folder}: no such folder")
    return resolved


def check_roots(folders: list[str]) -> list[str]:
    """Every folder checked and resolved (what the import then reads); RootNotAllowed lists each problem."""
    resolved, problems = [], []
    for folder in folders:
        try:
            resolved.append(str(check_root(folder)))
        except RootNotAllowed as exc:
            problems.append(str(exc))
    if problems:
        raise RootNotAllowed("; ".join(problems))
    return resolved
