"""A git source's unchanged sync against an unchanged `import_rules` of the same folders (issue 23: at most 1.5x).

Copies SigmaHQ's rule folders (and its regression_data, which both routes read) into a temporary git repository,
one commit, cloned bare as the remote (file://). On a fresh SQLite database (migrated beforehand, not timed) it
adds the copy as a git source and syncs it (the first sync: clone and full import, shown for scale), then times
  sync      `sync_sources` with nothing pushed: one fetch, then the import is skipped (the commit did not move)
  import    `import_rules` of the checkout's folders under the same source: every file read and hashed, unchanged
each the best of `--repeat` runs, and prints their ratio. Nothing is written outside the temporary folder.

    python -m benchmarks.sync_bench ../shared/corpus/sigmahq [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FOLDERS = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
COPIED = [*FOLDERS, "regression_data"]
TARGET = 1.5


def make_repository(corpus: Path, scratch: Path) -> Path:
    """A one-commit repository holding the corpus's folders, and its bare clone (returned: the remote)."""
    work = scratch / "work"
    for folder in COPIED:
        if (corpus / folder).is_dir():
            shutil.copytree(corpus / folder, work / folder)
    identity = ["-c", "user.name=Bench", "-c", "user.email=bench@example.org", "-c", "init.defaultBranch=main"]
    for args in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "SigmaHQ snapshot"]):
        subprocess.run(["git", *identity, *args], cwd=work, check=True)
    remote = scratch / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(remote)], check=True)
    return remote


def best_of(repeat: int, work) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (args.corpus / "rules").is_dir():
        sys.exit(f"{args.corpus}: no rules/ folder (a SigmaHQ checkout is expected)")
    scratch = Path(tempfile.mkdtemp(prefix="sync_bench_"))
    try:
        remote = make_repository(args.corpus.resolve(), scratch)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="0",
            DATABASE_URL=f"sqlite:///{scratch / 'catalog.sqlite3'}",
            CATALOG_SOURCES_DIR=str(scratch / "checkouts"),
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from catalog.importing.git_sources import Checkout
        from catalog.importing.importer import import_paths
        from catalog.importing.syncing import add_source, sync

        source, _ = add_source("sigmahq", remote.as_uri(), paths=FOLDERS)
        started = time.perf_counter()
        first = sync(source)
        first_seconds = time.perf_counter() - started
        assert first.ok and first.report and not first.report.errors, first.summary()
        roots = Checkout("sigmahq", remote.as_uri(), paths=FOLDERS).roots
        sync_seconds, synced = best_of(args.repeat, lambda: sync(source))
        assert synced.skipped, synced.summary()
        import_seconds, report = best_of(args.repeat, lambda: import_paths(roots, source="sigmahq"))
        assert report.created == report.updated == report.retired == 0, report.summary()
        ratio = sync_seconds / import_seconds
        print(f"first sync (clone, full import):  {first_seconds:7.2f} s  {first.summary()}")
        print(f"unchanged sync:                   {sync_seconds:7.3f} s  {synced.summary()}")
        print(f"unchanged import_rules:           {import_seconds:7.3f} s  {report.summary()}")
        verdict = "pass" if ratio <= TARGET else "FAIL"
        print(f"ratio sync / import_rules:        {ratio:7.3f}  (target <= {TARGET}: {verdict})")
        print(
            json.dumps(
                {
                    "first_sync_s": round(first_seconds, 3),
                    "unchanged_sync_s": round(sync_seconds, 4),
                    "unchanged_import_s": round(import_seconds, 4),
                    "ratio": round(ratio, 4),
                    "rules": first.report.created,
                }
            )
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
