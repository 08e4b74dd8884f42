"""The figures each benchmark hands to the closing summary (benchmarks.summary), as JSON under BENCH_RESULTS.

One file per benchmark (`<bench>.json`), a key per measurement (e.g. "sqlite/20"), each stamped with the time
and the machine's load average when it was recorded. `make bench` empties the folder first, so the summary
shows this run's figures only; a benchmark run alone adds to (or replaces its keys in) what is there. Two runs
sharing a BENCH_CACHE (its kept builds) share this folder too, unless each is given its own BENCH_RESULTS.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from benchmarks.builds import CACHE

RESULTS = Path(os.environ.get("BENCH_RESULTS") or CACHE / "results")


def record(bench: str, key: str, value: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{bench}.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[key] = {**value, "at": time.strftime("%H:%M:%S"), "load": round(os.getloadavg()[0], 1)}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(figures, indent=1))
    tmp.replace(path)


def load() -> dict[str, dict]:
    if not RESULTS.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}


def reset() -> None:
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
