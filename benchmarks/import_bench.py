"""`make bench` (import part): cold import and re-import of SigmaHQ, against libyaml parsing alone.

    .venv/bin/python -m benchmarks.import_bench [--engine sqlite|postgresql] [--scales 1,20] [--quick] [corpus]

Every phase runs in its own process so its time and peak memory are its own:
  parse     read the files and parse them with libyaml (CSafeLoader), in one process: the baseline
  import    import the folders into a fresh database (migrated beforehand, not timed)
  reimport  import the unchanged tree again
Ratios are to the parse of the same files measured in the same run: wall time (what a user waits; on a busy
machine it depends on the load, printed beside it) and CPU time (user + system of the process and of its parser
workers; the database server's own work is not in it). Each import prints where its importing process spent its
CPU (benchmarks.import_phases). At --scales N > 1 the corpus is N synthetic copies (benchmarks.synthetic_corpus,
written once under $BENCH_CACHE). SQLite always; PostgreSQL when reachable. --quick: 1x only.
"""

from __future__ import annotations

import argparse
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
PG_NAME = os.environ.get("BENCH_PG_NAME", "catalog_bench")
TARGETS = {"import": 4.0, "reimport": 1.5}
MAX_PEAK_MB = 400


def rule_files(corpus: Path, folders: list[str] | None = None) -> list[Path]:
    roots = [Path(f) for f in folders] if folders else [corpus / f for f in FOLDERS]
    return sorted(p for root in roots for p in root.rglob("*") if p.suffix in (".yml", ".yaml"))


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def cpu_seconds() -> float:
    """User + system time of this process and of its children that have ended (the parser workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def phase_parse(folders: list[str]) -> dict:
    import yaml

    files = rule_files(Path(), folders)
    best, best_cpu, rounds = float("inf"), float("inf"), 0
    while rounds < 3 and (rounds == 0 or best * (rounds + 1) < 30):  # best of 3 when that takes under 30 s
        started, cpu = time.perf_counter(), time.process_time()
        documents = 0
        for path in files:
            documents += sum(1 for _ in yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader))
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        rounds += 1
    return {"seconds": best, "cpu": best_cpu, "rounds": rounds, "files": len(files), "documents": documents,
            "peak_mb": peak_mb()}  # fmt: skip


def phase_import(folders: list[str]) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "0"
    django.setup()
    from benchmarks.import_phases import Phases
    from catalog.importing.importer import import_paths

    with Phases().wrapped() as phases:
        load = os.getloadavg()[0]
        cpu, main_cpu, started = cpu_seconds(), time.thread_time(), time.perf_counter()
        process_cpu = time.process_time()
        report = import_paths(folders, source="sigmahq")
        seconds = time.perf_counter() - started
        main_cpu, process_cpu = time.thread_time() - main_cpu, time.process_time() - process_cpu
        cpu = cpu_seconds() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "load": load,
        "steps": phases.rows(main_cpu, process_cpu),
        "waited": phases.waited,
        "missing": phases.missing,
        "summary": report.summary(),
        "errors": len(report.errors),
        "peak_mb": peak_mb(),
    }


def run_phase(name: str, folders: list[str], database_url: str | None) -> dict:
    env = dict(os.environ, DEBUG="0")
    if database_url:
        env["DATABASE_URL"] = database_url
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.import_bench", "--phase", name, *folders],
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
        return fresh_postgres_database(PG_ADMIN_URL, PG_NAME)
    except Exception as exc:  # the report says why the PostgreSQL figures are missing
        print(f"PostgreSQL: skipped ({exc})")
        return None


def report_import(label: str, parse: dict, result: dict, target: float) -> tuple[float, float]:
    ratio, cpu_ratio = result["seconds"] / parse["seconds"], result["cpu"] / parse["cpu"]
    print(
        f"  {label:16s} {result['seconds']:7.2f} s = {ratio:5.2f}x parse (target <= {target}x);"
        f" CPU {result['cpu']:6.2f} s = {cpu_ratio:5.2f}x parse's; peak {result['peak_mb']:.0f} MB"
        f" (target < {MAX_PEAK_MB}); load {result['load']:.1f}"
    )
    print(f"    {result['summary']}")
    steps = ", ".join(f"{name} {seconds:.2f}" for name, seconds in result["steps"])
    print(f"    importing process, CPU s: {steps}; waited for parsers {result['waited']:.2f} s (wall)")
    if result["missing"]:
        print(f"    (steps no longer found: {', '.join(result['missing'])})")
    return ratio, cpu_ratio


def run_engine(label: str, url: str, folders: list[str], parse: dict) -> dict:
    migrate(url)
    print(f"{label}:")
    cold = report_import("cold import", parse, run_phase("import", folders, url), TARGETS["import"])
    again = report_import("unchanged import", parse, run_phase("import", folders, url), TARGETS["reimport"])
    return {"cold": cold, "unchanged": again}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--phase":
        result = phase_parse(argv[2:]) if argv[1] == "parse" else phase_import(argv[2:])
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_bench")
    parser.add_argument("corpus", nargs="?", default="../shared/corpus/sigmahq")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], help="one database only (default: both)")
    parser.add_argument("--scales", default="1,20", help="corpus sizes, comma-separated (default 1,20)")
    parser.add_argument("--quick", action="store_true", help="1x only (the same as --scales 1)")
    args = parser.parse_args(argv)
    corpus = Path(args.corpus).resolve()
    scales = [1] if args.quick else [int(s) for s in args.scales.split(",")]
    ratios = {}
    for scale in scales:
        if scale == 1:
            folders = [str(corpus / f) for f in FOLDERS]
        else:
            from benchmarks import synthetic_corpus
            from benchmarks.search_bench import CACHE

            folders = synthetic_corpus.build(corpus, scale, CACHE / f"sigma-x{scale}")
        parse = run_phase("parse", folders, None)
        print(
            f"== {scale}x: libyaml parse of {parse['files']} files ({parse['documents']} documents):"
            f" {parse['seconds']:.2f} s, CPU {parse['cpu']:.2f} s (best of {parse['rounds']}),"
            f" peak {parse['peak_mb']:.0f} MB"
        )
        if args.engine in (None, "sqlite"):
            with tempfile.TemporaryDirectory() as tmp:
                ratios[("SQLite", scale)] = run_engine("SQLite", f"sqlite:///{tmp}/bench.sqlite3", folders, parse)
        if args.engine in (None, "postgresql"):
            postgres_url = fresh_postgres()
            if postgres_url:
                ratios[("PostgreSQL", scale)] = run_engine("PostgreSQL", postgres_url, folders, parse)
    print("\nimport / parse (wall; CPU):  cold (target <= 4x) | unchanged (target <= 1.5x)")
    for (engine, scale), r in ratios.items():
        print(
            f"  {engine:10s} {scale:3d}x   {r['cold'][0]:5.2f}x; {r['cold'][1]:5.2f}x"
            f"  | {r['unchanged'][0]:5.2f}x; {r['unchanged'][1]:5.2f}x"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
