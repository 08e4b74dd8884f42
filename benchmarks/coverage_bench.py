"""`make bench` (telemetry coverage part): a profile's coverage, uncached, as a ratio to a static file.

The corpus (the kept build of benchmarks.builds), served by gunicorn with production settings and the page cache off
(every request computes the three rule classes, the restricted matrix, the blind spots and the
"add this next" ranking). Each profile is requested sequentially over one keep-alive connection;
the summary is the median over the coverage pages and their JSON twins without rule ids (issue 12:
target <= 40x a static file at 1x corpus, at most 2x more at 20x). The JSON listing every rule id
grows with the corpus by nature and is printed apart.

    python -m benchmarks.coverage_bench                          # 1x SigmaHQ, SQLite and PostgreSQL
    python -m benchmarks.coverage_bench --scale 20 --engine sqlite   # 20 synthetic copies (kept build)
    python -m benchmarks.coverage_bench --database-url sqlite:////tmp/h12/cov-x20.sqlite3  # a built one
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

from benchmarks import builds, results, serve_bench
from benchmarks.site import serve

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
WARMUP = 5
TARGET = 40.0
PROFILES = [
    "events=sysmon:1,sysmon:3,sysmon:11,security:4624,security:4688",  # issue 12's example
    "events=security:4688,security:4624,security:4625,security:5156,security:4657,system:*",
    "events=sysmon:*,powershell:4103,powershell:4104&logsources=linux::auditd,aws::cloudtrail,:proxy",
]
PATHS = [f"/coverage/?{p}" for p in PROFILES] + [f"/coverage/?{PROFILES[0]}&uncovered=1"]
PATHS += [f"/api/coverage/?{p}&rules=0" for p in PROFILES]
WITH_IDS = f"/api/coverage/?{PROFILES[0]}"


def bench(label: str, database_url: str) -> float:
    with serve(database_url, production=True, workers=2, page_cache=False, **serve_bench.bench_site()) as base:
        static = statistics.median(serve_bench.timings(base, serve_bench.static_path(base), REQUESTS * 2, WARMUP))
        print(f"{label}, page cache off. {REQUESTS} sequential requests per path, gunicorn (2 workers)")
        print(f"  {'static file (WhiteNoise)':60s} median {static * 1000:7.2f} ms")
        everything = []
        for path in PATHS:
            samples = serve_bench.timings(base, path, REQUESTS, WARMUP)
            everything += samples
            median = statistics.median(samples)
            print(f"  {path[:60]:60s} median {median * 1000:7.2f} ms = {median / static:5.1f} x static")
        p50 = statistics.median(everything)
        print(f"  coverage p50: {p50 * 1000:.2f} ms = {p50 / static:.1f} x static (target <= {TARGET:.0f}x)")
        ids = statistics.median(serve_bench.timings(base, WITH_IDS, max(REQUESTS // 4, 5), 2))
        label = "JSON with every rule id (grows with the corpus)"
        print(f"  {label:60s} median {ids * 1000:7.2f} ms = {ids / static:5.1f} x static")
        return p50 / static


def main(argv: list[str]) -> None:
    scale, engines, database_url, rest = 1, ["sqlite", "postgresql"], "", []
    args = iter(argv)
    for arg in args:
        if arg == "--scale":
            scale = int(next(args))
        elif arg == "--engine":
            engines = [next(args)]
        elif arg == "--database-url":
            database_url = next(args)
        else:
            rest.append(arg)
    if database_url:
        bench(f"{database_url}", database_url)
        return
    corpus = Path(rest[0] if rest else "../shared/corpus/sigmahq").resolve()
    for engine, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        if engine in engines:
            url = builds.database(engine, scale, corpus)
            if url:
                ratio = bench(f"{label}, {scale}x corpus", url)
                results.record("coverage", f"{engine}/{scale}", {"p50_ratio": ratio})


if __name__ == "__main__":
    main(sys.argv[1:])
