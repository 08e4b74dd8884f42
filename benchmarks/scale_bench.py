"""`make bench` (scale part, issue 10): every kind of page, uncached, at 1x and 20x the corpus, on both databases.

Each page is served by gunicorn (production settings, page cache off: a search or a new filter
combination is always a miss) and requested sequentially; the table gives the median, its ratio to a
static file served by the same server in the same run, and how much the page grew from 1x to 20x.
Targets: within 40x static at 1x (the rule page 30x), and at most 2x growth.

    .venv/bin/python -m benchmarks.scale_bench [--engine sqlite|postgresql] [--scales 1,20] [corpus]

The 20x corpus is benchmarks.synthetic_corpus (seeded); built databases are kept under BENCH_CACHE
(see benchmarks.search_bench) so a re-run only serves.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import synthetic_corpus, throughput
from benchmarks.import_bench import FOLDERS
from benchmarks.search_bench import CACHE, PG_PREFIX, PG_SERVER, _built, _unlink
from benchmarks.serve_bench import REFERENCE_RULE, static_path, timings
from benchmarks.site import ROOT, fresh_postgres_database, serve

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
TARGET, RULE_PAGE_TARGET, GROWTH_TARGET = 40.0, 30.0, 2.0
PAGES = [
    ("rule page", f"/rules/{REFERENCE_RULE}/"),
    ("/rules/", "/rules/"),
    ("/rules/?q=powershell", "/rules/?q=powershell"),
    ("/rules/?tactic=discovery", "/rules/?tactic=discovery"),
    ("/rules/?level=high&level=critical", "/rules/?level=high&level=critical"),
    ("/attack/", "/attack/"),
    ("/attack/T1059/", "/attack/T1059/"),
    ("/attack/tactics/discovery/", "/attack/tactics/discovery/"),
    ("/fields/", "/fields/"),
    ("/fields/CommandLine/", "/fields/CommandLine/"),
    ("/ overview", "/"),
    ("/events/", "/events/"),
    ("/logsources/", "/logsources/"),
    ("/indicators/?value=whoami", "/indicators/?value=whoami"),
    ("/api/rules/", "/api/rules/"),
    ("/api/rules/?q=lsass", "/api/rules/?q=lsass"),
    ("/api/indicators/", "/api/indicators/"),
    ("/api/fields/", "/api/fields/"),
    ("/api/attack/", "/api/attack/"),
]


def first_byte(base: str, path: str) -> tuple[float, float, int]:
    """(seconds to the first byte, seconds to the last, bytes) of one GET."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    response.read(1)
    first = time.perf_counter() - started
    size = 1 + len(response.read())
    connection.close()
    return first, time.perf_counter() - started, size


def measure(database_url: str) -> dict[str, float]:
    """{page: median seconds} plus 'static', and the CSV export's first byte / total."""
    results = {}
    with serve(database_url, production=True, workers=2, page_cache=False) as base:
        results["static"] = statistics.median(timings(base, static_path(base), REQUESTS * 2, warmup=10))
        for label, path in PAGES:
            results[label] = statistics.median(timings(base, path, REQUESTS, warmup=3))
            print(f"  {label:36s} {results[label] * 1000:8.1f} ms = {results[label] / results['static']:6.1f}x static")
        try:
            first, total, size = first_byte(base, "/rules/export.csv")
        except (OSError, http.client.HTTPException) as exc:
            print(f"  /rules/export.csv failed: {exc!r}")
            first = total = size = float("nan")
        results["export first byte"], results["export total"], results["export bytes"] = first, total, size
    return results


def report(engine: str, by_scale: dict[int, dict[str, float]]) -> None:
    scales = sorted(by_scale)
    head = "".join(f" | {s}x ms  ratio" for s in scales)
    print(f"\n{engine}, page cache off, {REQUESTS} sequential requests per page, gunicorn 2 workers")
    print(f"{'page':36s}{head} | growth")
    for label, _ in PAGES:
        cells, ratios = "", []
        for s in scales:
            median, static = by_scale[s][label], by_scale[s]["static"]
            ratios.append(median / static)
            target = RULE_PAGE_TARGET if label == "rule page" else TARGET
            flag = " " if median / static <= target else "!"
            cells += f" | {median * 1000:7.1f} {median / static:6.1f}x{flag}"
        growth = by_scale[scales[-1]][label] / by_scale[scales[0]][label] if len(scales) > 1 else 1.0
        print(f"{label:36s}{cells} | {growth:4.1f}x{' ' if growth <= GROWTH_TARGET else '!'}")
    for s in scales:
        r = by_scale[s]
        print(
            f"static file at {s}x: {r['static'] * 1000:.2f} ms; /rules/export.csv at {s}x: first byte"
            f" {r['export first byte'] * 1000:.0f} ms, all {r['export total']:.1f} s, {r['export bytes'] / 1e6:.1f} MB"
        )
    print("(! = over target: 40x static, rule page 30x; growth 2x)")


def migrated(url: str) -> str:
    """A kept database brought to the current schema (a no-op when it is)."""
    manage = [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"]
    subprocess.run(manage, env=dict(os.environ, DATABASE_URL=url), check=True, cwd=ROOT)
    return url


def database(engine: str, scale: int, corpus: Path) -> str | None:
    if scale == 1:
        paths = [str(corpus / f) for f in FOLDERS]
    else:
        paths = synthetic_corpus.build(corpus, scale, CACHE / f"sigma-x{scale}")
    if engine == "sqlite":
        url = f"sqlite:///{CACHE}/search-x{scale}.sqlite3"
        _built(url, paths, CACHE / f"search-x{scale}.sqlite3.built", reset=lambda: _unlink(url))
        return migrated(url)
    name = f"{PG_PREFIX}{scale}"
    try:
        url = PG_SERVER.rsplit("/", 1)[0] + "/" + name
        _built(url, paths, CACHE / f"{name}.built", reset=lambda: fresh_postgres_database(PG_SERVER, name))
    except Exception as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return None
    return migrated(url)


def main(argv: list[str]) -> None:
    engines, scales, rest = ["sqlite", "postgresql"], [1, 20], []
    args = iter(argv)
    for arg in args:
        if arg == "--engine":
            engines = [next(args)]
        elif arg == "--scales":
            scales = [int(s) for s in next(args).split(",")]
        else:
            rest.append(arg)
    corpus = Path(rest[0] if rest else "../shared/corpus/sigmahq").resolve()
    for engine in engines:
        by_scale = {}
        for scale in scales:
            url = database(engine, scale, corpus)
            if url is not None:
                print(f"{engine}, {scale}x corpus:")
                by_scale[scale] = measure(url)
                throughput.measure(url, f"{engine}, {scale}x")
        if by_scale:
            report(engine, by_scale)


if __name__ == "__main__":
    main(sys.argv[1:])
