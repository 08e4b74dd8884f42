"""`make bench` (pages, issues 10 and 22): every kind of page, uncached, at 1x and 20x the corpus, on both databases.

Each page is served by gunicorn (production settings, page cache off: a search or a new filter
combination is always a miss) and requested sequentially, each request followed by one for a static
file on the same server (so both see the same load on a shared machine); a page's figure is its median
as a ratio to the static file's median over the same stretch. Two passes per database and scale:
"uncached", the page cache off but the per-catalog-version fragments on (catalog.platform.fragments:
what a page cache miss costs once the catalog version's rows, facets and rule-page parts exist), and
"cold", fragments off too (the first view of a page after a catalog change). Then the uncached search
throughput with 32 clients (benchmarks.throughput), both ways. Goals (issue 22): every page within 30x
static, the rule page 20x; growth from 1x to 20x at most 1.5x; 150 searches/s at 1x, 100 at 20x.

    .venv/bin/python -m benchmarks.scale_bench [--quick] [--engine sqlite|postgresql] [--scales 1,20] [corpus]

--quick: SQLite at 1x only, fewer requests (a minute or two). The 20x corpus is benchmarks.synthetic_corpus
(seeded); the databases are the kept builds of benchmarks.builds (under BENCH_CACHE), so a re-run only serves.
A page gets REQUESTS pairs (BENCH_REQUESTS, 20), or as many as BENCH_PAGE_SECONDS (8) allow past MIN_PAIRS (7):
the slow pages of the 20x corpus (0.2-1 s each) no longer take minutes for a median that is stable long before.
Time with the builds kept: about 2 minutes per engine at 1x and 4-6 at 20x (four gunicorn starts each: uncached,
cold, and the two throughput runs). The figures go to benchmarks.results for the closing summary.
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import builds, results, throughput
from benchmarks.serve_bench import REFERENCE_RULE, bench_site, static_path
from benchmarks.site import serve

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
COLD_REQUESTS = int(os.environ.get("BENCH_COLD_REQUESTS", "9"))
PAGE_SECONDS, MIN_PAIRS = float(os.environ.get("BENCH_PAGE_SECONDS", "8")), 7
TARGET, RULE_PAGE_TARGET, GROWTH_TARGET = 30.0, 20.0, 1.5
PAGES = [
    ("rule page", f"/rules/{REFERENCE_RULE}/"),
    ("/rules/", "/rules/"),
    ("/rules/?q=powershell", "/rules/?q=powershell"),
    ("/rules/?q=lsass", "/rules/?q=lsass"),
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
COLD = {"CATALOG_FRAGMENT_SECONDS": "0"}


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


def paired(base: str, path: str, static: str, count: int, warmup: int = 3) -> tuple[float, float]:
    """(median seconds of `path`, median of the static file) over `count` pairs, or fewer (at least MIN_PAIRS)
    once PAGE_SECONDS have gone by: each GET of the page is followed by one of the static file, so a busy machine
    slows both alike."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    pages, statics = [], []
    deadline = None
    for i in range(warmup + count):
        if i == warmup:
            deadline = time.perf_counter() + PAGE_SECONDS
        elif deadline is not None and len(pages) >= MIN_PAIRS and time.perf_counter() > deadline:
            break
        for target, samples in ((path, pages), (static, statics)):
            started = time.perf_counter()
            connection.request("GET", target, headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{target} answered {response.status}")
            if i >= warmup:
                samples.append(time.perf_counter() - started)
    connection.close()
    return statistics.median(pages), statistics.median(statics)


def measure(database_url: str, requests: int = REQUESTS, env: dict | None = None, export: bool = True) -> dict:
    """{page: (median seconds, ratio to the static file)}, plus 'static' and the CSV export's first byte / total."""
    results = {}
    with serve(database_url, production=True, workers=2, page_cache=False, **bench_site(env)) as base:
        static = static_path(base)
        statics = []
        for label, path in PAGES:
            median, static_median = paired(base, path, static, requests)
            statics.append(static_median)
            results[label] = (median, median / static_median)
            print(f"  {label:36s} {median * 1000:8.1f} ms = {median / static_median:6.1f}x static", flush=True)
        results["static"] = statistics.median(statics)
        if export:
            try:
                first, total, size = first_byte(base, "/rules/export.csv")
            except (OSError, http.client.HTTPException) as exc:
                print(f"  /rules/export.csv failed: {exc!r}")
                first = total = size = float("nan")
            results["export"] = (first, total, size)
    return results


def report(engine: str, by_scale: dict[int, dict[str, dict]], rates: dict) -> None:
    """One table: each page's ratio per scale, uncached and cold, and the growth from the smallest scale."""
    scales = sorted(by_scale)
    head = "".join(f" | {s}x uncached    cold" for s in scales)
    print(f"\n{engine}: ratio to a static file, page cache off, {REQUESTS} requests per page, gunicorn 2 workers")
    print(f"{'page':36s}{head} | growth")
    for label, _ in PAGES:
        cells = ""
        for s in scales:
            warm, cold = by_scale[s]["uncached"][label][1], by_scale[s]["cold"][label][1]
            target = RULE_PAGE_TARGET if label == "rule page" else TARGET
            cells += f" | {warm:7.1f}x{' ' if warm <= target else '!'} {cold:6.1f}x"
        growth = (
            by_scale[scales[-1]]["uncached"][label][1] / by_scale[scales[0]]["uncached"][label][1]
            if len(scales) > 1
            else 1.0
        )
        print(f"{label:36s}{cells} | {growth:4.1f}x{' ' if growth <= GROWTH_TARGET else '!'}")
    for s in scales:
        r = by_scale[s]["uncached"]
        first, total, size = r.get("export", (float("nan"),) * 3)
        print(
            f"static file at {s}x: {r['static'] * 1000:.2f} ms; /rules/export.csv at {s}x: first byte"
            f" {first * 1000:.0f} ms, all {total:.1f} s, {size / 1e6:.1f} MB"
        )
        rate, cold = rates[s]
        clients = throughput.CLIENTS
        print(f"uncached search throughput at {s}x, {clients} clients: {rate['summary']} (cold: {cold['summary']})")
    print(f"(! = over the goal: {TARGET:.0f}x static, rule page {RULE_PAGE_TARGET:.0f}x; growth {GROWTH_TARGET}x)")


def record(engine: str, scale: int, warm: dict, cold: dict, rates: tuple[dict, dict], seconds: float) -> None:
    """The figures of one engine and scale, for benchmarks.summary."""
    first, total, size = warm.get("export", (float("nan"),) * 3)
    results.record("pages", f"{engine}/{scale}", {
        "uncached": {label: warm[label][1] for label, _ in PAGES},
        "cold": {label: cold[label][1] for label, _ in PAGES},
        "ms": {label: warm[label][0] * 1000 for label, _ in PAGES},
        "static_ms": warm["static"] * 1000,
        "export_first_byte_ms": first * 1000, "export_s": total, "export_mb": size / 1e6,
        "search_rate": rates[0]["rate"], "search_static_rate": rates[0]["static_rate"],
        "search_errors": rates[0]["errors"], "search_rate_cold": rates[1]["rate"],
        "seconds": seconds,
    })  # fmt: skip


def main(argv: list[str]) -> None:
    global REQUESTS, COLD_REQUESTS
    engines, scales, rest = ["sqlite", "postgresql"], [1, 20], []
    args = iter(argv)
    for arg in args:
        if arg == "--engine":
            engines = [next(args)]
        elif arg == "--scales":
            scales = [int(s) for s in next(args).split(",")]
        elif arg == "--quick":
            engines, scales = ["sqlite"], [1]
            REQUESTS, COLD_REQUESTS = min(REQUESTS, 9), min(COLD_REQUESTS, 5)
        else:
            rest.append(arg)
    corpus = Path(rest[0] if rest else "../shared/corpus/sigmahq").resolve()
    for engine in engines:
        by_scale, rates = {}, {}
        for scale in scales:
            url = builds.database(engine, scale, corpus)
            if url is None:
                continue
            started = time.perf_counter()
            print(f"{engine}, {scale}x corpus, uncached (fragments kept per catalog version):", flush=True)
            warm = measure(url)
            print(f"{engine}, {scale}x corpus, cold (no fragments):", flush=True)
            cold = measure(url, COLD_REQUESTS, env=COLD, export=False)
            by_scale[scale] = {"uncached": warm, "cold": cold}
            rates[scale] = (
                throughput.measure(url, f"{engine}, {scale}x"),
                throughput.measure(url, f"{engine}, {scale}x, cold", env=COLD),
            )
            record(engine, scale, warm, cold, rates[scale], time.perf_counter() - started)
        if by_scale:
            report(engine, by_scale, rates)


if __name__ == "__main__":
    main(sys.argv[1:])
