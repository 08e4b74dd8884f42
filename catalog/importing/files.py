"""Finding rule files under the folders given to an import, and reading them without surprises.

A folder can hold anything: a FIFO named x.yml (opening it would wait forever for a writer), a
symlink to /dev/zero (endless), a 1.5 GB file. So a file's type and size are checked before it is
read, and no read takes more than the size limit plus one byte.

Two kinds of failure are kept apart, because they decide whether rules may be retired:
* `UnreadableFile` (the filesystem said no: permissions, a dangling link, I/O): the file may still
  hold rules, so nothing under its root folder is retired by this import;
* `RejectedFile` (read fine, but not something we import: not a regular file, too big): the file's
  own rules are kept, the rest of the folder is handled as usual.

Symlinks: folders reached through a link are not walked (os.walk does not follow them). A file link
is followed, wherever it points, on the command line (`import_rules PATH`: the operator chose PATH and
has a shell anyway). An import started from the admin runs `confined_to(CATALOG_IMPORT_ROOTS)`
(catalog/importing/jobs.py): there, the file actually opened must lie inside those roots, or it is
rejected unread, so a link in an allowed folder cannot publish a file from outside it. The check is
on the opened descriptor's path (/proc/self/fd), so a link swapped in after the walk is caught too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from catalog.importing.report import ImportReport

RULE_EXTENSIONS = (".yml", ".yaml")
# The folders every file read must resolve into (None: not confined). A context variable, not a
# global: one thread's admin import never confines (or frees) another's.
_confinement: ContextVar[tuple[Path, ...] | None] = ContextVar("import_confinement", default=None)


@contextlib.contextmanager
def confined_to(roots: Iterable[Path | str]) -> Iterator[None]:
    """Within the block, `read_rule_file` reads only files whose real path is inside one of `roots`."""
    token = _confinement.set(tuple(Path(root).resolve() for root in roots))
    try:
        yield
    finally:
        _confinement.reset(token)


@dataclass(frozen=True)
class RuleFile:
    path: Path  # on disk
    display_path: str  # stored and reported: '<root folder name>/<relative path>'
    source: str
    root: str  # the folder (or file) given to the import

    @property
    def root_name(self) -> str:
        """The first segment of the display path: what retirement is scoped by."""
        return self.display_path.split("/", 1)[0]


@dataclass
class FileScan:
    files: list[RuleFile] = field(default_factory=list)
    # (source, root name) of the roots where a folder or file could not be read: nothing retired there.
    unreadable_roots: dict[tuple[str, str], int] = field(default_factory=dict)

    def read_failed(self, source: str, root_name: str) -> None:
        key = (source, root_name)
        self.unreadable_roots[key] = self.unreadable_roots.get(key, 0) + 1


class UnreadableFile(Exception):
    """The filesystem refused: the file may still hold rules."""


class RejectedFile(Exception):
    """Not a file the import reads (its type or its size)."""


def find_rule_files(paths: Iterable[str], name_of: Callable[[Path], str], report: ImportReport) -> FileScan:
    """Every .yml/.yaml file under the given paths, in a stable (sorted) order, each display path once.

    `name_of(resolved path)` names the source of each path given (catalog.importing.naming).

    The same display path can be found twice: the same folder given twice, or two checkouts of one
    repository recorded as a source's roots. It is one file (read from the first root given), not a
    rule defined twice.
    """
    scan = FileScan()
    claimed: dict[tuple[str, str], str] = {}  # (source, display path) -> root it was first found under
    shadowed: set[tuple[str, str]] = set()
    walked: set[tuple[str, str]] = set()
    for given in paths:
        root = Path(given).expanduser()
        if not root.exists():
            report.error(str(given), 0, "path does not exist")
            continue
        root = root.resolve()
        source_name = name_of(root)
        if (source_name, str(root)) in walked:  # the same folder given twice
            continue
        walked.add((source_name, str(root)))
        found = [RuleFile(root, root.name, source_name, str(root))] if root.is_file() else []
        if not found:
            found = sorted(_walk(root, source_name, scan, report), key=lambda f: f.display_path)
        for rule_file in found:
            key = (source_name, rule_file.display_path)
            first_root = claimed.setdefault(key, rule_file.root)
            if first_root == rule_file.root:
                scan.files.append(rule_file)
            elif (first_root, rule_file.root) not in shadowed:
                shadowed.add((first_root, rule_file.root))
                report.warning(
                    rule_file.root,
                    0,
                    f"has the same name as {first_root}: files found under both are read once, from {first_root}",
                )
    return scan


def _walk(root: Path, source_name: str, scan: FileScan, report: ImportReport):
    def unreadable_folder(error: OSError) -> None:
        folder = Path(error.filename)
        relative = folder.relative_to(root).as_posix() if folder != root else ""
        display = f"{root.name}/{relative}".rstrip("/")
        report.error(display, 0, f"cannot read folder: {error.strerror}")
        scan.read_failed(source_name, root.name)

    for directory, dirnames, filenames in os.walk(root, onerror=unreadable_folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in filenames:
            if filename.lower().endswith(RULE_EXTENSIONS):
                full = Path(directory) / filename
                yield RuleFile(full, f"{root.name}/{full.relative_to(root).as_posix()}", source_name, str(root))


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_rule_file(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, or UnreadableFile / RejectedFile with a message for the report.

    Symlinks are resolved and their target checked like any file. The type and size are checked
    before opening, and again on the opened descriptor (the file may have been swapped meanwhile);
    the open itself does not block (O_NONBLOCK), and the read stops after max_bytes + 1 bytes.
    """
    try:
        link = os.lstat(path)
        if stat.S_ISLNK(link.st_mode):
            _check(os.stat(path), max_bytes, f"symlink to {os.path.realpath(path)}: ")
        else:
            _check(link, max_bytes)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        try:
            opened = os.fstat(fd)
            _check(opened, max_bytes)
            _check_confinement(fd, path)
            data = _read_at_most(fd, max_bytes + 1, opened.st_size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # it grew after the size check
        raise RejectedFile(f"file is over the {max_bytes}-byte limit")
    return data


def _check_confinement(fd: int, path: Path) -> None:
    roots = _confinement.get()
    if roots is None:
        return
    try:  # the file the descriptor is open on, wherever links led (Linux); else the path resolved now
        real = Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        real = Path(os.path.realpath(path))
    if not any(real == root or root in real.parents for root in roots):
        raise RejectedFile(
            f"symlink to {real}, outside the folders the admin may import from (CATALOG_IMPORT_ROOTS): not read"
        )


def _check(status: os.stat_result, max_bytes: int, prefix: str = "") -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = _KINDS.get(stat.S_IFMT(status.st_mode), "not a regular file")
        raise RejectedFile(f"{prefix}{kind}, not a regular file: not read")
    if status.st_size > max_bytes:
        raise RejectedFile(f"{prefix}file is {status.st_size} bytes, over the {max_bytes}-byte limit")


def _read_at_most(fd: int, limit: int, expected: int) -> bytes:
    """Up to `limit` bytes. The first read asks for the expected size plus one (a 1 MiB buffer per file
    would cost time and fragment memory), then small reads notice a file that grew meanwhile."""
    chunks, size, want = [], 0, min(limit, expected + 1)
    while size < limit:
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        want = min(limit - size, 64 * 1024)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
