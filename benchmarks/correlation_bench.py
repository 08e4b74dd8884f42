"""Correlation evaluation's memory stays flat over a long stream: `python -m benchmarks.correlation_bench [N]`.

Generates N events (default 2,000,000) one at a time, never held: Security logons on 500 hosts and 2,000
users over about 23 days, failed logons (4625) in most, bursts of failures on a few accounts, successes.
Each event's base-rule hits are fed to one evaluator holding the specification's chained example
(event_count >= 10 per user in 10 min, then temporal_ordered with a success), a value_count per source
address, a value_sum and a value_percentile. Prints the process's resident memory (current and peak) at
10 %, 50 % and 100 % of the stream, the events per second, and the peak's growth from 10 % to 100 %: the
evaluator holds the open windows, not the stream, so it stays near 1.0x. (The ijson / evtx readers and
base matching read files in chunks already: match_bench measures those.)
"""

from __future__ import annotations

import random
import resource
import sys
import time
from pathlib import Path

from catalog.core.sigma.correlation import BaseHit, Evaluator, Observation, parse_correlation

SPECS = [
    (
        "multi",
        "multiple_failed_login",
        {
            "type": "event_count",
            "rules": ["failed_login"],
            "group_by": ["User"],
            "timespan": "10m",
            "condition": {"gte": 10},
        },
    ),
    (
        "chain",
        "",
        {
            "type": "temporal_ordered",
            "rules": ["multiple_failed_login", "successful_login"],
            "group_by": ["User"],
            "timespan": "10m",
        },
    ),
    (
        "spray",
        "",
        {
            "type": "value_count",
            "rules": ["failed_login"],
            "group_by": ["IpAddress"],
            "timespan": "5m",
            "condition": {"field": "User", "gte": 20},
        },
    ),
    (
        "bytes",
        "",
        {
            "type": "value_sum",
            "rules": ["successful_login"],
            "group_by": ["Computer"],
            "timespan": "1h",
            "condition": {"field": "Bytes", "gt": 5_000_000},
        },
    ),
    (
        "rare",
        "",
        {
            "type": "value_percentile",
            "rules": ["successful_login"],
            "group_by": ["Computer"],
            "timespan": "1h",
            "condition": {"field": "Process", "lte": 1},
        },
    ),
]


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    current = pages * resource.getpagesize() / 2**20
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def events(count: int, seed: int = 11):
    """(timestamp, number, hits) one at a time: about one event a second, a burst now and then."""
    rng = random.Random(seed)
    clock = 1_714_557_600.0
    for number in range(1, count + 1):
        clock += rng.expovariate(1.0)
        user = f"user{rng.randrange(2000)}"
        host = f"host{rng.randrange(500)}"
        address = f"10.0.{rng.randrange(64)}.{rng.randrange(256)}"
        if number % 50_000 < 12:  # a burst: one account failing a dozen times, then succeeding
            user, rule = "victim", "failed_login" if number % 50_000 < 11 else "successful_login"
        else:
            rule = "failed_login" if rng.random() < 0.6 else "successful_login"
        values = {
            "User": user,
            "IpAddress": address,
            "Computer": host,
            "Bytes": rng.randrange(20_000),
            "Process": f"p{min(int(rng.paretovariate(1.2)), 400)}.exe",
        }
        yield Observation(clock, number, (BaseHit(rule, values),))


def main(count: int) -> None:
    specs = [parse_correlation(key, name, key, "high", body) for key, name, body in SPECS]
    evaluator = Evaluator(specs, {"failed_login": "failed_login", "successful_login": "successful_login"})
    marks = {count // 10: "10%", count // 2: "50%", count: "100%"}
    started, peaks = time.perf_counter(), {}
    for observation in events(count):
        evaluator.feed(observation)
        if observation.number in marks:
            current, peak = rss_mib()
            peaks[marks[observation.number]] = peak
            open_entries = sum(len(w) for node in evaluator.nodes for w in node.groups.values())
            print(
                f"{marks[observation.number]:>5} of {count:,} events: RSS {current:7.1f} MiB (peak {peak:7.1f}), "
                f"{open_entries:,} entries in open windows, {len(evaluator.results):,} results"
            )
    evaluator.finish()
    elapsed = time.perf_counter() - started
    print(f"{count / elapsed:,.0f} events/s; peak RSS at 100% / at 10%: {peaks['100%'] / peaks['10%']:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2_000_000)
