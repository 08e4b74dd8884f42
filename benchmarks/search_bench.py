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
import time
from pathlib import Path
from urllib.parse import urlencode

from benchmarks import serve_bench, synthetic_corpus
from benchmarks.import_bench import FOLDERS
from benchmarks.serve_bench import static_path
from benchmarks.site import build_database, fresh_postgres_database, serve

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
CACHE = Path(os.environ.get("BENCH_CACHE", "/tmp/catalog-bench"))
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# The kept PostgreSQL databases are `<prefix>N` (N: the scale): a prefix of your own keeps runs apart.
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "bench")


def timings(base: str, path: str, count: int = REQUESTS) -> list[float]:
    return serve_bench.timings(base, path, count, warmup=WARMUP)


def bench(label: str, database_url: str) -> None:
    with serve(database_url, production=True, workers=2, page_cache=False) as base:
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


def main(argv: list[str]) -> None:
    """`search_bench [--scale N] [--engine sqlite|postgresql] [corpus]`.

    At --scale N > 1 the corpus is N synthetic copies (benchmarks.synthetic_corpus), and the built
    databases are kept under CACHE (SQLite file; PostgreSQL database `benchN`) so a re-run only
    serves: delete CACHE / drop the database to rebuild (e.g. after a migration or importer change).
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
    if scale == 1:
        paths = [str(corpus / f) for f in FOLDERS]
    else:
        paths = synthetic_corpus.build(corpus, scale, CACHE / f"sigma-x{scale}")
    label = f"{scale}x corpus"
    if "sqlite" in engines:
        sqlite_url = f"sqlite:///{CACHE}/search-x{scale}.sqlite3"
        _built(sqlite_url, paths, CACHE / f"search-x{scale}.sqlite3.built", reset=lambda: _unlink(sqlite_url))
        bench(f"SQLite, {label}", sqlite_url)
    if "postgresql" in engines:
        name = f"{PG_PREFIX}{scale}"
        try:
            postgres_url = PG_SERVER.rsplit("/", 1)[0] + "/" + name
            _built(postgres_url, paths, CACHE / f"{name}.built", reset=lambda: fresh_postgres_database(PG_SERVER, name))
        except Exception as exc:
            print(f"PostgreSQL: skipped ({exc})")
            return
        bench(f"PostgreSQL, {label}", postgres_url)


def _built(database_url: str, paths: list[str], marker: Path, reset) -> None:
    """Build the database unless `marker` says an earlier run built it from these folders."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wanted = "\n".join(paths)
    if marker.exists() and marker.read_text() == wanted:
        return
    marker.unlink(missing_ok=True)
    reset()
    started = time.perf_counter()
    build_database(database_url, paths)
    print(f"built {database_url} in {time.perf_counter() - started:.0f} s")
    marker.write_text(wanted)


def _unlink(sqlite_url: str) -> None:
    Path(sqlite_url.removeprefix("sqlite:///")).unlink(missing_ok=True)


if __name__ == "__main__":
    main(sys.argv[1:])
