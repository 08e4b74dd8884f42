"""`make bench` (matching part): events per second against every SigmaHQ rule, on one core.

SigmaHQ's regression events (regression_data/**/*.json, each a real logged event one rule must
fire on) are flattened and replicated to at least 100,000 events, then matched in this process:
- indexed: `match_events` as /match/ and the API call it (the literal index picks candidates,
  the full evaluator confirms them);
- reference: the same events through today's evaluator, every rule of the event's log source
  evaluated (`indexed=False`); it is about a hundred times slower, so it runs on a slice of the
  same events (each distinct event at least twice) and is reported in events/s like the other.
Both must give the same rules for every event (checked here on the distinct events; the tests
check it too). Also printed: the compile time (rows to compiled rules and requirements; then the
per-log-source indexes, built as their first event comes) and the memory the compiled catalog
holds (tracemalloc, in a separate compile so it does not slow the timed one).

The catalog is the kept 1x SQLite build of benchmarks.builds (under BENCH_CACHE; built when missing).
"""

from __future__ import annotations

import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path

from benchmarks import builds

TARGET_EVENTS = 100_000
TARGET_RATE = 3_000  # events/s on one core (the issue: ahead of Zircolite's published ~3,000)


def regression_events(corpus: Path) -> list[dict]:
    from catalog.core.sigma.logged_events import flatten_event, load_events

    events = []
    for path in sorted((corpus / "regression_data").rglob("*.json")):
        events.extend(flatten_event(event) for event in load_events(path.read_text(encoding="utf-8")))
    return events


def timed(events: list[dict], indexed: bool) -> tuple[float, float, list]:
    """(CPU seconds of this process, wall seconds, results): the process runs on one core, so its CPU
    time is what one core spends, whatever else the machine is running; the wall time is shown too."""
    from catalog.matching.engine import match_events

    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    results = match_events(events, None, indexed=indexed)
    return time.process_time() - cpu, time.perf_counter() - wall, results


def build_pools(catalog, distinct: list[dict]) -> None:
    """The index of each log source these events meet, built as their first match would build it."""
    from catalog.matching.compiled import EventFacts
    from catalog.matching.logsources import infer

    for event in distinct:
        catalog.pool(EventFacts.of(event), infer(event))


def compile_figures(distinct: list[dict]) -> tuple[float, float, float, float]:
    """Seconds to compile the rules, then to index the log sources met; the memory each holds."""
    from catalog import matching

    matching.forget_compiled()
    started = time.perf_counter()
    catalog = matching.warm()
    rules_seconds = time.perf_counter() - started
    started = time.perf_counter()
    build_pools(catalog, distinct)
    pools_seconds = time.perf_counter() - started
    matching.forget_compiled()
    del catalog
    gc.collect()
    tracemalloc.start()
    catalog = matching.warm()
    rules_held = tracemalloc.get_traced_memory()[0]
    build_pools(catalog, distinct)
    index_held = tracemalloc.get_traced_memory()[0] - rules_held
    tracemalloc.stop()
    return rules_seconds, pools_seconds, rules_held / 1e6, index_held / 1e6


def bench(corpus: Path) -> None:
    from catalog import matching

    distinct = regression_events(corpus)
    copies = -(-TARGET_EVENTS // len(distinct))
    events = distinct * copies
    rules_seconds, pools_seconds, rules_mb, index_mb = compile_figures(distinct)
    catalog = matching.warm()
    print(
        f"Matching: {len(catalog.candidates)} rules compiled in {rules_seconds:.2f} s ({rules_mb:.0f} MB), "
        f"+ {pools_seconds:.2f} s for the indexes of the {catalog.memory_parts()['pools']} log sources the events "
        f"meet ({catalog.memory_parts()['atoms']} literals, {index_mb:.1f} MB)"
    )
    matching.match_events(distinct, None, indexed=False)  # RE2 programs compiled as first met, for both
    reference_events = distinct * 2
    reference_cpu, reference_wall, reference = timed(reference_events, indexed=False)
    indexed_cpu, indexed_wall, results = timed(events, indexed=True)
    pairs = zip(results[: len(distinct)], reference[: len(distinct)], strict=True)
    same = all([r.pk for r in a.rules] == [r.pk for r in b.rules] for a, b in pairs)
    fired = sum(len(result.rules) for result in results[: len(distinct)])
    print(f"  {len(distinct)} distinct regression events x {copies} = {len(events)} events, {fired} rule hits per copy")
    rows = [
        ("today's evaluator (every rule of the log source)", len(reference_events), reference_cpu, reference_wall),
        ("indexed (literal index + evaluator)", len(events), indexed_cpu, indexed_wall),
    ]
    for label, count, cpu, wall in rows:
        print(f"  {label:50s} {count / cpu:8.0f} events/s on one core ({count / wall:6.0f} by the wall clock)")
    ratio = (len(events) / indexed_cpu) / (len(reference_events) / reference_cpu)
    print(f"  = {ratio:.0f} x today's evaluator (target >= {TARGET_RATE} events/s)")
    print(f"  same rules for every distinct event: {'yes' if same else 'NO'}")


def main(argv: list[str]) -> None:
    corpus = Path(argv[0] if argv else "../shared/corpus/sigmahq").resolve()
    os.environ["DATABASE_URL"] = builds.database("sqlite", 1, corpus)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    bench(corpus)


if __name__ == "__main__":
    main(sys.argv[1:])
