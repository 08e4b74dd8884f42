"""`make bench` (search part): the rule search's latency as a ratio to a static file, on both databases.

The full SigmaHQ corpus in a fresh database, served by gunicorn with production settings and the
page cache off (every search is computed). Realistic queries, each requested sequentially over one
keep-alive connection; the ratio is each query's median to the static file's median of the same
run, and the summary is the median over all search requests (issue 9: target <= 40x at 1x corpus).
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from urllib.parse import urlencode

from benchmarks import builds, results, serve_bench
from benchmarks.builds import CACHE, PG_PREFIX, PG_SERVER  # noqa: F401 (other benchmarks import them from here)
from benchmarks.serve_bench import bench_site, static_path
from benchmarks.site import serve

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))  # per query; fewer for a quick 20x run
WARMUP = 5
TARGET = 40.0
QUERIES = [
    {"q": "psexec"},
    {"q": "whoami"},
    {"q": "certutil.exe"},
    {"q": "\\net.exe"},
    {"q": "credential dump"},
    {"q": "T1003.001"},
    {"q": "Potential Credential Dumping Via WER"},
    {"q": "powershell", "level": ["high", "critical"]},  # a search with a facet OR
    {"q": "mimikatzz"},  # no result: the near-spelling suggestion is computed
    {"q": "windows", "sort": "-modified"},  # a broad search in another order
]
API = [{"q": "lsass"}]
FILTERED = [{"tactic": "discovery"}, {"level": ["high", "critical"]}]  # filtered lists, no search
_built, _unlink = builds.built, builds.unlink_sqlite  # the names coverage_bench and older scripts use


def timings(base: str, path: str, count: int = REQUESTS) -> list[float]:
    return serve_bench.timings(base, path, count, warmup=WARMUP)


def bench(label: str, database_url: str) -> float:
    with serve(database_url, production=True, workers=2, page_cache=False, **bench_site()) as base:
        static = statistics.median(timings(base, static_path(base), REQUESTS * 2))
        print(f"{label}, page cache off. {REQUESTS} sequential requests per query, gunicorn (2 workers)")
        print(f"  {'static file (WhiteNoise)':44s} median {static * 1000:7.2f} ms")
        everything = []
        paths = [f"/rules/?{urlencode(q, doseq=True)}" for q in QUERIES]
        paths += [f"/rules/?{urlencode(q, doseq=True)}" for q in FILTERED]
        paths += [f"/api/rules/?{urlencode(q, doseq=True)}" for q in API]
        for path in paths:
            samples = timings(base, path)
            everything += samples
            median = statistics.median(samples)
            print(f"  {path:44s} median {median * 1000:7.2f} ms = {median / static:5.1f} x static")
        p50 = statistics.median(everything)
        print(
            f"  search p50 over all queries: {p50 * 1000:.2f} ms = {p50 / static:.1f} x static"
            f" (target <= {TARGET:.0f}x)"
        )
        return p50 / static


def main(argv: list[str]) -> None:
    """`search_bench [--scale N] [--engine sqlite|postgresql] [corpus]`.

    At --scale N > 1 the corpus is N synthetic copies (benchmarks.synthetic_corpus). The databases are the kept
    builds of benchmarks.builds (under CACHE; PostgreSQL database `<BENCH_PG_PREFIX>N`): a re-run only serves.
    """
    scale, engines, rest = 1, ["sqlite", "postgresql"], []
    args = iter(argv)
    for arg in args:
        if arg == "--scale":
            scale = int(next(args))
        elif arg == "--engine":
            engines = [next(args)]
        else:
            rest.append(arg)
    corpus = Path(rest[0] if rest else "../shared/corpus/sigmahq").resolve()
    for engine, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        url = builds.database(engine, scale, corpus) if engine in engines else None
        if url:
            ratio = bench(f"{label}, {scale}x corpus", url)
            results.record("search", f"{engine}/{scale}", {"p50_ratio": ratio})


if __name__ == "__main__":
    main(sys.argv[1:])
