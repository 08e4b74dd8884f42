"""The three high-severity attacks of the second hardening pass, against gunicorn with 2 workers.

Usage: python -m benchmarks.stress [CORPUS] (`make stress`). The catalog is built from CORPUS (SigmaHQ) in
its own database (SQLite; PostgreSQL when BENCH_PG_NAME names a database to create on DATABASE_URL's
server) and served by gunicorn with 2 sync workers, production settings and no page cache. Then, for
STRESS_SECONDS (default 20), anonymous attackers repeat, two at a time each:
1. whole-catalog SIEM exports, with the pipeline list spelled in every order (cache bypass);
2. a `|windash` rule whose expansion grows exponentially, posted to /api/convert/;
3. a Sysmon configuration nested 60,000 levels deep, posted to /api/coverage/.
Meanwhile a visitor asks for an uncached rule search (/rules/?q=...) every half second. Two rounds: with the
default rate limits (pass or fail), then with them lifted, so that each attack's own bound is shown. The script prints
what the attackers got (status codes, slowest answer, bytes; status 0: the connection was closed, e.g. an
answer given before a 2 MB body was read) and the visitor's latencies, and exits non-zero when a visitor's
request took over 1 s or got no answer.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import contextmanager
from itertools import permutations
from pathlib import Path

from benchmarks.site import build_database, fresh_postgres_database, serve

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("STRESS_SECONDS", "20"))
VISITOR_LIMIT_SECONDS = 1.0
WINDASH_RULE = (
    "title: windash\nlogsource: {category: process_creation, product: windows}\n"
    "detection: {sel: {CommandLine|windash|contains: '-p0 -p1 -p2 -p3 -p4 -p5 -p6 -p7'}, condition: sel}\n"
)
DEEP_SYSMON = "<Sysmon>" + "<EventFiltering>" * 60000 + "</EventFiltering>" * 60000 + "</Sysmon>"


def export_requests() -> list[tuple[str, bytes | None]]:
    paths = []
    for pipelines in permutations(["sysmon", "ecs_windows", "windows-audit"]):
        paths.append(f"/rules/export/elastic.ndjson?pipeline={','.join(pipelines)}")
    for pipelines in permutations(["sysmon", "splunk_windows"]):
        paths.append(f"/rules/export/splunk.conf?pipeline={','.join(pipelines)}")
    paths.append("/rules/export/sentinel.json?pipeline=sysmon,microsoft_xdr")
    return [(path, None) for path in paths]


def convert_requests() -> list[tuple[str, bytes | None]]:
    body = json.dumps({"yaml": WINDASH_RULE, "target": "splunk", "pipeline": "sysmon,splunk_windows"})
    return [("/api/convert/", body.encode())]


def coverage_requests() -> list[tuple[str, bytes | None]]:
    return [("/api/coverage/", json.dumps({"sysmon_config": DEEP_SYSMON}).encode())]


def fetch(url: str, body: bytes | None, timeout: float = 60) -> tuple[int, float, int]:
    """(status, seconds, bytes read); status 0 when the connection failed or the body was cut short."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            size = len(response.read())
            return response.status, time.perf_counter() - started, size
    except urllib.error.HTTPError as error:
        return error.code, time.perf_counter() - started, len(error.read() or b"")
    except Exception:  # noqa: BLE001 - a reset, a timeout or a truncated body: all mean "no proper answer"
        return 0, time.perf_counter() - started, 0


def attacker(base: str, requests: list, stop: threading.Event, results: list) -> None:
    index = 0
    while not stop.is_set():
        path, body = requests[index % len(requests)]
        results.append(fetch(base + path, body))
        index += 1


def visitor(base: str, stop: threading.Event, latencies: list) -> None:
    number = 0
    while not stop.is_set():
        number += 1
        status, seconds, _ = fetch(f"{base}/rules/?q=process+{number}", None, timeout=30)
        latencies.append((status, seconds))
        time.sleep(0.5)


def report(name: str, results: list) -> None:
    statuses = Counter(status for status, _, _ in results)
    slowest = max((seconds for _, seconds, _ in results), default=0)
    largest = max((size for _, _, size in results), default=0)
    print(
        f"  {name:<8} {len(results):>5} requests  statuses {dict(sorted(statuses.items()))}  "
        f"slowest {slowest:.2f} s  largest {largest:,} B"
    )


def main(corpus: str) -> int:
    names = ("rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-placeholder")
    folders = [str(Path(corpus) / name) for name in names if (Path(corpus) / name).is_dir()] or [corpus]
    if os.environ.get("BENCH_PG_NAME"):
        database_url = fresh_postgres_database(os.environ["DATABASE_URL"], os.environ["BENCH_PG_NAME"])
    else:
        database_url = f"sqlite:///{ROOT / 'test-artifacts' / 'stress.sqlite3'}"
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):  # a WAL left by an earlier run would not fit the new file
            Path(database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    print(f"building {database_url} from {', '.join(folders)} ...")
    build_database(database_url, folders)
    log = ROOT / "test-artifacts" / "stress-server.log"
    print(f"(the servers' own log: {log})")
    lifted = {f"CATALOG_RATE_{scope}": "1000000/minute" for scope in ("ANON", "CONVERT", "COVERAGE", "EXPORT")}
    exports = {"CATALOG_EXPORT_DIR": str(ROOT / "test-artifacts" / "stress-exports")}
    with server_log(log):
        ok = attack_round(database_url, "default rate limits (the pass/fail round)", exports)
    # Without rate limits, six clients that never pause keep both sync workers busy, so the visitor queues
    # behind them whatever each request costs: this round shows each attack's own bound (slowest answer,
    # size), and its visitor figures are for information.
    with server_log(log):
        attack_round(
            database_url,
            "rate limits lifted (each attack's own bound; visitor for information)",
            {
                **exports,
                **lifted,
            },
        )
    return 0 if ok else 1


@contextmanager
def server_log(path: Path):
    """gunicorn and Django write to this process's stderr: send it to a file while they run."""
    saved = os.dup(2)
    with open(path, "a") as handle:
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def attack_round(database_url: str, title: str, env: dict) -> bool:
    with serve(database_url, production=True, workers=2, page_cache=False, env=env) as base:
        baseline = [fetch(f"{base}/rules/?q=baseline+{n}", None)[1] for n in range(5)]
        stop = threading.Event()
        attacks = {"exports": export_requests(), "convert": convert_requests(), "coverage": coverage_requests()}
        results = {name: [] for name in attacks}
        threads = [
            threading.Thread(target=attacker, args=(base, requests, stop, results[name]), daemon=True)
            for name, requests in attacks.items()
            for _ in range(2)
        ]
        latencies: list[tuple[int, float]] = []
        threads.append(threading.Thread(target=visitor, args=(base, stop, latencies), daemon=True))
        for thread in threads:
            thread.start()
        time.sleep(SECONDS)
        stop.set()
        for thread in threads:
            thread.join(timeout=90)
    print(f"{title}: under attack for {SECONDS:.0f} s (2 clients per attack, 2 gunicorn workers)")
    print(f"  visitor alone beforehand: median {statistics.median(baseline) * 1000:.0f} ms (5 uncached searches)")
    for name, found in results.items():
        report(name, found)
    seconds = [s for _, s in latencies]
    failed = [status for status, _ in latencies if status != 200]
    print(
        f"  visitor  {len(latencies):>5} requests  median {statistics.median(seconds) * 1000:.0f} ms  "
        f"max {max(seconds) * 1000:.0f} ms  not 200: {len(failed)}"
    )
    ok = not failed and max(seconds) <= VISITOR_LIMIT_SECONDS
    print("  PASS" if ok else f"  FAIL: a visitor's search took over {VISITOR_LIMIT_SECONDS:.0f} s or failed")
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "corpus" / "sigmahq")))
