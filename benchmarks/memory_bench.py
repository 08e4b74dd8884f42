"""Worker memory under a mixed load (issue 10): gunicorn workers' RSS before and after N requests.

    .venv/bin/python -m benchmarks.memory_bench DATABASE_URL [--requests 10000] [--workers 2] [--clients 4]

Serves an already built catalog (e.g. the 20x synthetic one of benchmarks.search_bench, or
benchmarks.site.build_database) with the default per-worker page cache, then sends a deterministic
mix: pages (overview, lists, facets, ATT&CK, fields, events, rule pages), searches with varying words,
and the same pages with unknown parameters (?utm=N, which must not make new cache entries). It prints
each worker's RSS after start-up and after the load, the page cache's bound, the export's first byte
and peak RSS, and the cached page's throughput as a ratio to a static file's, measured in this run.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.serve_bench import static_path
from benchmarks.site import serve

WORDS = ["powershell", "mimikatz", "certutil", "rundll32", "registry", "lsass", "scheduled", "wmi", "dns", "base64"]
PAGES = ["/", "/rules/", "/rules/?level=high", "/rules/?tactic=discovery", "/attack/", "/events/", "/logsources/"]
PAGES += ["/indicators/", "/rules/?sort=-modified", "/attack/T1059/", "/api/rules/", "/api/rules/?level=critical"]


def get(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=120) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def mixed_paths(base: str, count: int, seed: int = 10) -> list[str]:
    """`count` paths: 40% pages, 25% rule pages, 15% searches, 20% pages with unknown parameters."""
    rng = random.Random(seed)
    listing = json.loads(urllib.request.urlopen(base + "/api/rules/?page_size=500", timeout=120).read())
    rule_ids = [row["id"] for row in listing["results"]]
    paths = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.40:
            paths.append(rng.choice(PAGES))
        elif roll < 0.65:
            paths.append(f"/rules/{rng.choice(rule_ids)}/")
        elif roll < 0.80:
            paths.append(f"/rules/?q={rng.choice(WORDS)}+{rng.choice(WORDS)}&page={rng.randint(1, 3)}")
        else:
            page = rng.choice(PAGES)
            paths.append(f"{page}{'&' if '?' in page else '?'}utm_source={n}")
    return paths


def export_first_byte(base: str, master: int, path: str = "/rules/export.csv") -> tuple[float, float, float, int, int]:
    """(seconds to the first byte, to the first rule's line, to the last byte; bytes; peak worker RSS KiB)."""
    peak = max(rss_kib(pid) for pid in workers(master))
    start = time.perf_counter()
    with urllib.request.urlopen(base + path, timeout=600) as response:
        first = response.read(1)
        first_byte = time.perf_counter() - start
        first += response.readline() + response.readline()  # the header, then the first rule
        first_rule = time.perf_counter() - start
        size = len(first)
        while chunk := response.read(1 << 16):
            size += len(chunk)
            peak = max(peak, *(rss_kib(pid) for pid in workers(master)))
    return first_byte, first_rule, time.perf_counter() - start, size, peak


def throughput(base: str, path: str, seconds: float = 5.0, clients: int = 8, headers: dict | None = None) -> float:
    """Requests per second over `seconds` with `clients` concurrent sequential clients."""
    deadline = time.perf_counter() + seconds

    def loop(_):
        done = 0
        while time.perf_counter() < deadline:
            get(base + path, headers)
            done += 1
        return done

    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(loop, range(clients))) / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database_url")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    with serve(args.database_url, workers=args.workers) as base:
        master = serve.last_pid
        for path in ("/", "/rules/", f"/rules/?q={WORDS[0]}"):  # each worker imports its modules
            for _ in range(args.workers * 2):
                get(base + path)
        before = {pid: rss_kib(pid) for pid in workers(master)}
        paths = mixed_paths(base, args.requests)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            statuses = list(pool.map(lambda p: get(base + p), paths))
        elapsed = time.perf_counter() - start
        after = {pid: rss_kib(pid) for pid in workers(master)}
        errors = sum(1 for status in statuses if status >= 500)
        print(f"{len(paths)} mixed requests in {elapsed:.0f} s ({errors} errors), {args.workers} workers")
        for pid in sorted(before):
            print(
                f"  worker {pid}: RSS {before[pid] / 1024:6.0f} MiB after start-up -> "
                f"{after.get(pid, 0) / 1024:6.0f} MiB after the load ({after.get(pid, 0) / before[pid]:.2f}x)"
            )
        print("  page cache bound per worker: CATALOG_PAGE_CACHE_BYTES (default 32 MiB of gzipped pages)")
        first, first_rule, total, size, peak = export_first_byte(base, master)
        print(
            f"/rules/export.csv: first byte {first * 1000:.0f} ms, first rule {first_rule * 1000:.0f} ms, "
            f"all {size / 1e6:.1f} MB in {total:.1f} s, peak worker RSS while streaming {peak / 1024:.0f} MiB"
        )
        static = throughput(base, static_path(base))
        for path in ("/rules/", "/api/rules/?level=high"):
            plain = throughput(base, path)
            zipped = throughput(base, path, headers={"Accept-Encoding": "gzip"})  # as browsers ask
            print(
                f"cached {path}: {plain:.0f} req/s = {plain / static:.2f}x the static file's {static:.0f} req/s; "
                f"with gzip {zipped:.0f} req/s = {zipped / static:.2f}x"
            )


if __name__ == "__main__":
    main()
