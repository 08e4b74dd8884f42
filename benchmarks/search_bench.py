"""`make bench` (search part): the rule search's latency as a ratio to a static file, on both databases.

The full SigmaHQ corpus in a fresh database, served by gunicorn with production settings and the
page cache off (every search is computed). Realistic queries, each requested sequentially over one
keep-alive connection; the ratio is each query's median to the static file's median of the same
run, and the summary is the median over all search requests (issue 9: target <= 40x at 1x corpus).
"""

from __future__ import annotations

import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from benchmarks.import_bench import FOLDERS
from benchmarks.serve_bench import static_path
from benchmarks.site import build_database, fresh_postgres_database, serve

REQUESTS = 40
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


def timings(base: str, path: str, count: int = REQUESTS) -> list[float]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    samples = []
    for i in range(WARMUP + count):
        started = time.perf_counter()
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        if i >= WARMUP:
            samples.append(elapsed)
    connection.close()
    return samples


def bench(label: str, database_url: str) -> None:
    with serve(database_url, production=True, workers=2, page_cache=False) as base:
        static = statistics.median(timings(base, static_path(base), REQUESTS * 2))
        print(f"{label}, page cache off. {REQUESTS} sequential requests per query, gunicorn (2 workers)")
        print(f"  {'static file (WhiteNoise)':44s} median {static * 1000:7.2f} ms")
        everything = []
        paths = [f"/rules/?{urlencode(q, doseq=True)}" for q in QUERIES]
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
    corpus = Path(argv[0] if argv else "../shared/corpus/sigmahq").resolve()
    paths = [str(corpus / f) for f in FOLDERS]
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/search.sqlite3"
        build_database(sqlite_url, paths)
        bench("SQLite", sqlite_url)
    try:
        postgres_url = fresh_postgres_database("postgresql://postgres@127.0.0.1:5432/postgres", "catalog_search_bench")
    except Exception as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    build_database(postgres_url, paths)
    bench("PostgreSQL", postgres_url)


if __name__ == "__main__":
    main(sys.argv[1:])
