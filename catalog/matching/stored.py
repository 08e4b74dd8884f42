"""The compiled catalog kept on disk per catalog version, so that a scan, a worker or a web process loads it
instead of compiling it.

Compiling SigmaHQ's ~3,800 rules from their rows (catalog.matching.compiled.build) costs about 2 s of CPU in every
process, after every import or curation; loading the pickle written by the first process to compile that version
costs a fraction of it (benchmarks/scan_bench.py prints both). The files are catalog.platform.version_files': named
by the catalog version, the database and the code (this package's and catalog.core.sigma's modules that build and
run the compiled catalog, pySigma's and Python's versions), written atomically, read only from a folder no other
user may write to (CATALOG_MATCH_COMPILED_DIR), the newest KEEP kept.

What is pickled is what `build` made, before any event was matched: the per-log-source indexes and the RE2
programs are built lazily by each process and are never written (CompiledCatalog and Pattern say so in their
pickled state), so nothing an event or a request leaves in memory reaches a file or another process.
"""

from __future__ import annotations

from catalog.platform.version_files import VersionFiles

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
FILES = VersionFiles("catalog", CODE, packages=("pysigma", "google-re2", "pyahocorasick"), keep=KEEP)


def load(number: int, changed_at):
    """The compiled catalog stored for this version, or None (none stored, unreadable, or not safe to read)."""
    return FILES.load(number, changed_at)


def save(catalog, number: int, changed_at):
    """Write the catalog for this version (atomically) and prune older files; None when turned off or failed."""
    return FILES.save(catalog, number, changed_at)
