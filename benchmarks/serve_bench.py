"""`make bench` (serving part): page latency under gunicorn, against a static file served by WhiteNoise.

The full SigmaHQ corpus is imported into a fresh database, served by gunicorn with production
settings; each page type is requested sequentially over one keep-alive connection. Ratios are
to the static file's median measured in the same run.
"""

from __future__ import annotations

import http.client
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.import_bench import FOLDERS
from benchmarks.site import build_database, fresh_postgres_database, serve

REQUESTS = 200
WARMUP = 20
REFERENCE_RULE = "1c67a717-32ba-409b-a45d-0fb704a73a81"
PAGES = {
    "rule page": (f"/rules/{REFERENCE_RULE}/", 5.0),
    "rule list, filtered": ("/rules/?tactic=discovery&level=medium", 8.0),
    "search": ("/rules/?q=net.exe", 8.0),
    "indicator search": ("/indicators/?field=CommandLine&value=whoami", 8.0),
    "ATT&CK matrix": ("/attack/", 8.0),
}


def timings(base: str, path: str, count: int = REQUESTS, warmup: int = WARMUP) -> list[float]:
    """Seconds per sequential GET of `path` on one keep-alive connection, after `warmup` unmeasured ones."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    samples = []
    for i in range(warmup + count):
        started = time.perf_counter()
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        if i >= warmup:
            samples.append(elapsed)
    connection.close()
    return samples


def static_path(base: str) -> str:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", "/", headers={"Host": "127.0.0.1"})
    html = connection.getresponse().read().decode()
    return re.search(r'href="(/static/[^"]+\.css)"', html).group(1)


def p95(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.95) - 1]


def bench(label: str, database_url: str, page_cache: bool) -> None:
    with serve(database_url, production=True, workers=2, page_cache=page_cache) as base:
        baseline = timings(base, static_path(base))
        base_median = statistics.median(baseline)
        mode = "page cache on: repeat views" if page_cache else "page cache off: every view rendered"
        print(f"{label}, {mode}. {REQUESTS} sequential requests per page over keep-alive, gunicorn (2 workers)")
        print(
            f"  {'static file (WhiteNoise)':24s} median {base_median * 1000:7.2f} ms"
            f"  p95 {p95(baseline) * 1000:7.2f} ms"
        )
        for name, (path, target) in PAGES.items():
            samples = timings(base, path)
            median = statistics.median(samples)
            print(
                f"  {name:24s} median {median * 1000:7.2f} ms  p95 {p95(samples) * 1000:7.2f} ms  "
                f"= {median / base_median:5.1f} x static (target <= {target:.0f}x)   {path}"
            )


def main(argv: list[str]) -> None:
    corpus = Path(argv[0] if argv else "../shared/corpus/sigmahq").resolve()
    paths = [str(corpus / f) for f in FOLDERS]
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/serve.sqlite3"
        build_database(sqlite_url, paths)
        bench("SQLite", sqlite_url, page_cache=True)
        bench("SQLite", sqlite_url, page_cache=False)
    try:
        postgres_url = fresh_postgres_database("postgresql://postgres@127.0.0.1:5432/postgres", "catalog_serve_bench")
    except Exception as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    build_database(postgres_url, paths)
    bench("PostgreSQL", postgres_url, page_cache=True)
    bench("PostgreSQL", postgres_url, page_cache=False)


if __name__ == "__main__":
    main(sys.argv[1:])
