"""`make bench` (import part): cold import and re-import of SigmaHQ, against libyaml parsing alone.

Every phase runs in its own process so its time and peak memory are its own:
  parse     read the files and parse them with libyaml (CSafeLoader): the baseline
  import    import the five folders into a fresh database (migrated beforehand, not timed)
  reimport  import the unchanged tree again
Ratios are to the parse time measured in the same run. SQLite always; PostgreSQL when reachable.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FOLDERS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-placeholder"]
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGETS = {"import": 4.0, "reimport": 1.5}
MAX_PEAK_MB = 400


def rule_files(corpus: Path) -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (corpus / folder).rglob("*") if p.suffix in (".yml", ".yaml"))


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def phase_parse(corpus: Path) -> dict:
    import yaml

    files = rule_files(corpus)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        documents = 0
        for path in files:
            documents += sum(1 for _ in yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader))
        best = min(best, time.perf_counter() - started)
    return {"seconds": best, "files": len(files), "documents": documents, "peak_mb": peak_mb()}


def phase_import(corpus: Path) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "0"
    django.setup()
    from catalog.importing.importer import import_paths

    started = time.perf_counter()
    report = import_paths([str(corpus / f) for f in FOLDERS], source="sigmahq")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "summary": report.summary(), "errors": len(report.errors), "peak_mb": peak_mb()}


def run_phase(name: str, corpus: Path, database_url: str | None) -> dict:
    env = dict(os.environ, DEBUG="0")
    if database_url:
        env["DATABASE_URL"] = database_url
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.import_bench", "--phase", name, str(corpus)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def migrate(database_url: str) -> None:
    env = dict(os.environ, DATABASE_URL=database_url, DEBUG="0")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env, check=True)


def fresh_postgres() -> str | None:
    from benchmarks.site import fresh_postgres_database

    try:
        return fresh_postgres_database(PG_ADMIN_URL, "catalog_bench")
    except Exception as exc:  # the report says why the PostgreSQL figures are missing
        print(f"PostgreSQL: skipped ({exc})")
        return None


def report(label: str, parse: dict, cold: dict, again: dict) -> None:
    ratio_cold = cold["seconds"] / parse["seconds"]
    ratio_again = again["seconds"] / parse["seconds"]
    print(f"{label}:")
    print(
        f"  cold import      {cold['seconds']:7.2f} s  = {ratio_cold:5.2f} x parse   (target <= {TARGETS['import']}x)  "
        f"peak {cold['peak_mb']:.0f} MB (target < {MAX_PEAK_MB} MB)"
    )
    print(f"    {cold['summary']}")
    print(
        f"  unchanged import {again['seconds']:7.2f} s  = {ratio_again:5.2f} x parse"
        f"   (target <= {TARGETS['reimport']}x)  "
        f"peak {again['peak_mb']:.0f} MB"
    )
    print(f"    {again['summary']}")


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--phase":
        phase, corpus = argv[1], Path(argv[2])
        result = phase_parse(corpus) if phase == "parse" else phase_import(corpus)
        print(json.dumps(result))
        return
    corpus = Path(argv[0] if argv else "../shared/corpus/sigmahq").resolve()
    parse = run_phase("parse", corpus, None)
    print(
        f"libyaml parse of {parse['files']} files ({parse['documents']} documents): {parse['seconds']:.2f} s "
        f"(best of 3), peak {parse['peak_mb']:.0f} MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/bench.sqlite3"
        migrate(sqlite_url)
        report("SQLite", parse, run_phase("import", corpus, sqlite_url), run_phase("import", corpus, sqlite_url))
    postgres_url = fresh_postgres()
    if postgres_url:
        migrate(postgres_url)
        report(
            "PostgreSQL", parse, run_phase("import", corpus, postgres_url), run_phase("import", corpus, postgres_url)
        )


if __name__ == "__main__":
    main(sys.argv[1:])
