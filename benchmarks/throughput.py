"""Uncached search throughput (issue 10): requests/s of /rules/?q=… with varying queries, many clients at once.

Each client thread keeps one connection and cycles through its own slice of the query list, so no two
requests in a row ask the same page (a page cache would not help; it is off anyway). Reported with the
static file's rate measured the same way in the same run.

The rate is a running server's: WARMUP_SECONDS of the same mix go first, unmeasured, so that each worker's
one-off costs (its first request, its own fragments of the rows the mix lists: catalog.platform.fragments,
per process by default) are not counted against the ten seconds measured. Each query still computes its
search, its facets and its page; "cold" (fragments off) renders every row too.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from urllib.parse import quote, urlsplit

from benchmarks.serve_bench import bench_site, static_path
from benchmarks.site import serve

CLIENTS, WORKERS, SECONDS, WARMUP_SECONDS = 32, 3, 10.0, 5.0
WORDS = [
    "psexec",
    "whoami",
    "certutil",
    "mimikatz",
    "lsass",
    "powershell",
    "rundll32",
    "regsvr32",
    "schtasks",
    "wmic",
    "bitsadmin",
    "vssadmin",
    "credential",
    "dump",
    "registry",
    "persistence",
    "net.exe",
    "sysmon",
    "office",
    "macro",
    "base64",
    "encoded",
    "download",
    "cradle",
    "defender",
    "tamper",
    "shadow",
]


def queries() -> list[str]:
    pairs = [f"{a} {b}" for a, b in itertools.combinations(WORDS[:12], 2)]
    return [f"/rules/?q={quote(q)}" for q in [*WORDS, *pairs]]


def rate(base: str, paths: list[str], clients: int = CLIENTS, seconds: float = SECONDS) -> tuple[float, int, int]:
    """(requests per second, requests, errors) over `seconds` with `clients` concurrent connections."""
    parts = urlsplit(base)
    stop = time.perf_counter() + seconds
    done, errors, lock = [0], [0], threading.Lock()

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        n = ok = bad = 0
        while time.perf_counter() < stop:
            path = paths[(offset + n) % len(paths)]
            n += 1
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                ok, bad = (ok + 1, bad) if response.status == 200 else (ok, bad + 1)
            except (OSError, http.client.HTTPException):
                bad += 1
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        with lock:
            done[0] += ok
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return done[0] / elapsed, done[0], errors[0]


def measure(database_url: str, label: str, env: dict | None = None) -> dict:
    """Print and return the uncached search rate (`env`: more settings for the server, e.g. fragments off):
    {"rate": requests/s, "static_rate": the static file's, "errors": failed requests, "summary": a line}."""
    with serve(database_url, production=True, workers=WORKERS, page_cache=False, **bench_site(env)) as base:
        static_rate, _, _ = rate(base, [static_path(base)], seconds=3.0)
        rate(base, queries(), seconds=WARMUP_SECONDS)
        search_rate, served, errors = rate(base, queries())
    summary = f"{search_rate:.0f}/s, {search_rate / static_rate:.3f} of the static file's {static_rate:.0f}/s"
    print(
        f"{label}: uncached search {search_rate:.0f} requests/s ({served} served, {errors} errors) with {CLIENTS}"
        f" clients, {WORKERS} workers, after {WARMUP_SECONDS:.0f} s of warm-up; static file {static_rate:.0f}/s"
        f" = {search_rate / static_rate:.3f} of it"
        f" (goal >= 150/s at 1x, 100/s at 20x)",
        flush=True,
    )
    return {"rate": search_rate, "static_rate": static_rate, "errors": errors, "summary": summary}
