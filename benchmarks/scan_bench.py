"""`make bench` (scan part): `manage.py match_event` on EVTX files against every SigmaHQ rule, next to the `evtx`
parser alone on the same files, on 1 and 2 processes, with start-up shown apart.

Inputs: SigmaHQ's regression .evtx files as they are (163 files of one chunk), and the same chunks replicated to
SCAN_BENCH_BYTES (default 1 GiB) by scripts/replicate_evtx.py into SCAN_BENCH_DIR (default: a temporary folder;
never the repository), 64 MiB files. No other set of real attack samples is reachable from this machine (only
PyPI and npm are), so the regression events stand for them; replicated, the same 195 events come back about a
hundred times, which the per-log-source indexes and RE2 programs built on first use favour a little.

Columns: wall seconds of the whole command (`--format jsonl` to /dev/null) and its start-up apart (Python,
Django, the catalog loaded from its stored file, or compiled when none is stored: both are shown), events/s
end to end and in steady state (the wall time less the start-up), and the ratio to the parser alone (one
thread, the records as JSON text) on the same files; then the CPU seconds of the command and its workers, and
events per CPU second (what one core sustains, whatever else the machine runs). BENCH_CACHE=/some/dir keeps the
imported database.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.import_bench import FOLDERS
from benchmarks.site import ROOT, build_database

STARTUP = (
    "import time; started = time.perf_counter(); import django; django.setup(); "
    "from catalog.matching import engine; engine.warm(); print(time.perf_counter() - started)"
)


def parser_seconds(files: list[Path]) -> tuple[float, int]:
    import evtx

    started, count = time.perf_counter(), 0
    for path in files:
        count += sum(1 for _ in evtx.PyEvtxParser(str(path), 1).records_json())
    return time.perf_counter() - started, count


def timed(command: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its workers): on a busy machine the CPU time is the steadier."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - started, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


# Runs a command and prints the largest resident set any of its processes reached (KiB): per command, unlike
# RUSAGE_CHILDREN here, which keeps the maximum over every command this benchmark ran.
PEAK_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss_mib(command: list[str], env: dict) -> float:
    output = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *command], env=env, check=True, cwd=ROOT, capture_output=True
    )
    return int(output.stdout.decode().split()[-1]) / 1024


def memory(manage: list[str], files: list[Path], env: dict) -> None:
    """Peak RSS of one scan process over the first eighth, half and all of the replicated files: flat when memory
    is bounded by what a scan keeps (grouped hits, samples, correlation windows), not by how much it reads."""
    print("  Memory of a one-process scan (peak RSS) as the input grows:")
    for share in (8, 2, 1):
        part = files[: max(1, len(files) // share)]
        size = sum(p.stat().st_size for p in part) / 2**20
        rss = peak_rss_mib([*manage, "--processes", "1", *map(str, part)], env)
        print(f"    {size:7.0f} MiB of EVTX in {len(part):2d} file(s): peak RSS {rss:6.1f} MiB")


def startup(env: dict, stored: bool) -> float:
    env = dict(env, CATALOG_MATCH_COMPILED_DIR=env["CATALOG_MATCH_COMPILED_DIR"] if stored else "")
    output = subprocess.run([sys.executable, "-c", STARTUP], env=env, check=True, cwd=ROOT, capture_output=True)
    return float(output.stdout.decode().strip().splitlines()[-1])


def bench(corpus: Path, env: dict, replicas: Path) -> None:
    regression = sorted((corpus / "regression_data").rglob("*.evtx"))
    if not any(replicas.glob("*.evtx")):
        size = os.environ.get("SCAN_BENCH_BYTES", "1G")
        subprocess.run([sys.executable, str(ROOT / "scripts" / "replicate_evtx.py"), str(corpus / "regression_data"),
                        str(replicas), "--bytes", size], check=True)  # fmt: skip
    startup(env, stored=True)  # stores the compiled catalog
    compile_s, load_s = startup(env, stored=False), startup(env, stored=True)
    print(f"Scan start-up (Python, Django, catalog): {compile_s:.2f} s compiling it, {load_s:.2f} s loading it")
    print(f"  {'input':34s} {'procs':>5s} {'events':>7s} {'parser':>7s} {'scan':>7s} {'start':>6s} "
          f"{'ev/s e2e':>9s} {'ev/s steady':>11s} {'x parser':>8s} {'CPU s':>6s} {'ev/CPU-s':>8s}")  # fmt: skip
    manage = [sys.executable, str(ROOT / "manage.py"), "match_event", "--format", "jsonl"]
    for label, files, args in (
        ("regression .evtx (163 files, 11 MB)", regression, [str(p) for p in regression]),
        (f"replicated to {sum(p.stat().st_size for p in replicas.glob('*.evtx')) / 2**30:.1f} GiB (folder)",
         sorted(replicas.glob("*.evtx")), [str(replicas)]),
    ):  # fmt: skip
        parser, events = parser_seconds(files)
        for processes in (1, 2):
            wall, cpu = timed([*manage, "--processes", str(processes), *args], env)
            steady = max(wall - load_s, 1e-9)
            print(f"  {label:34s} {processes:5d} {events:7d} {parser:7.2f} {wall:7.2f} {load_s:6.2f} "
                  f"{events / wall:9.0f} {events / steady:11.0f} {wall / parser:8.1f} {cpu:6.2f} "
                  f"{events / cpu:8.0f}")  # fmt: skip
    memory(manage, sorted(replicas.glob("*.evtx")), env)


def main(argv: list[str]) -> None:
    corpus = Path(argv[0] if argv else "../shared/corpus/sigmahq").resolve()
    cache = os.environ.get("BENCH_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(cache or tmp) / "match_bench.sqlite3"
        url = f"sqlite:///{path}"
        if not (cache and path.exists()):
            build_database(url, [str(corpus / folder) for folder in FOLDERS])
        env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0")
        env["CATALOG_MATCH_COMPILED_DIR"] = str(Path(tmp) / "compiled")
        replicas = Path(os.environ.get("SCAN_BENCH_DIR") or Path(tmp) / "replicas")
        bench(corpus, env, replicas)


if __name__ == "__main__":
    main(sys.argv[1:])
