"""`make bench` (serving part): page latency under gunicorn, against a static file served by WhiteNoise.

The full SigmaHQ corpus (the kept 1x builds of benchmarks.builds, built when missing), served by gunicorn with
production settings; each page type is requested sequentially over one keep-alive connection. Ratios are
to the static file's median measured in the same run.
"""

from __future__ import annotations

import http.client
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import builds
from benchmarks.site import serve

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


def bench_site(env: dict | None = None) -> dict:
    """serve() options for a benchmark of pages: the master does not compile the event matcher before forking
    (CATALOG_WARM_MATCHER=0: at 20x the corpus that took 107 s, near serve()'s 180 s deadline on a busy machine,
    which is how the 20x runs timed out, and kept 145 MB of compiled rules in every worker), and no task worker
    polls the database (5 times a second) beside the timed requests. `env`: more settings."""
    return {"env": {"CATALOG_WARM_MATCHER": "0", **(env or {})}, "task_worker": False}


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
    with serve(database_url, production=True, workers=2, page_cache=page_cache, **bench_site()) as base:
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
    for engine, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        url = builds.database(engine, 1, corpus)
        if url:
            bench(label, url, page_cache=True)
            bench(label, url, page_cache=False)


if __name__ == "__main__":
    main(sys.argv[1:])
