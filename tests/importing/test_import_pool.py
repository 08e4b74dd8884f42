"""The parsing pool (catalog.importing.pool): order kept, a time budget per file, crashes contained, no orphans.

No database: the pool maps a function over items in forked worker processes. The functions below
stand in for a parser that is slow, crashes or raises on one particular file.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from catalog.importing.pool import ParserPool

ROOT = Path(__file__).resolve().parents[2]  # the repository


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited and only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def still_running_after(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if running(pid)]


def square_unless_told(item):
    """An item is a number, or a command that makes this 'parser' misbehave."""
    if item == "hang":
        time.sleep(600)
    if item == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if item == "raise":
        raise TypeError("unhashable type: 'dict'")
    return item * item, os.getpid()


def failed(item, message):
    return ("failed", item, message)


def run(items, workers=2, budget=30.0):
    with ParserPool(square_unless_told, items, failed, workers, budget) as pool:
        return list(pool), pool


def test_results_come_back_in_order_from_several_workers():
    results, pool = run(list(range(300)), workers=2)
    assert [square for square, _ in results] == [n * n for n in range(300)]
    assert len({pid for _, pid in results}) == 2
    assert os.getpid() not in {pid for _, pid in results}  # parsed in workers, never in the importer
    assert pool.replaced == 0


def collects(item):
    return gc.isenabled()


def test_workers_collect_garbage_while_the_importer_does_not():
    """The importer pauses collection for its own objects (importer.py); parsing makes cycles, so workers collect."""
    gc.disable()
    try:
        with ParserPool(collects, [1, 2, 3], failed, 1, 30.0) as pool:
            assert list(pool) == [True, True, True]
    finally:
        gc.enable()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_item_over_the_budget_is_reported_and_its_worker_replaced(workers):
    items = [1, 2, "hang", 3, 4, *range(5, 40)]
    results, pool = run(items, workers=workers, budget=1)
    assert results[2] == ("failed", "hang", "took longer than the 1 s budget per file")
    assert [r[0] for i, r in enumerate(results) if i != 2] == [n * n for n in [1, 2, 3, 4, *range(5, 40)]]
    assert pool.replaced == 1


def test_a_worker_that_dies_costs_only_its_item():
    results, pool = run([1, "crash", 3, *range(4, 60)], workers=2)
    assert results[1] == ("failed", "crash", "its parser process died (exit code -9)")
    assert [r[0] for i, r in enumerate(results) if i != 1] == [n * n for n in [1, 3, *range(4, 60)]]
    assert pool.replaced == 1


def test_an_exception_in_the_function_is_the_items_failure():
    results, _ = run([1, "raise", 3], workers=1)
    assert results[1] == ("failed", "raise", "could not be parsed (TypeError: unhashable type: 'dict')")
    assert results[0][0] == 1 and results[2][0] == 9


def test_leaving_the_pool_early_stops_its_workers():
    with ParserPool(square_unless_told, [1, "hang", "hang", 4], failed, 2, 600) as pool:
        assert next(iter(pool))[0] == 1
        workers = children_of(os.getpid())
        assert len(workers) == 2
    assert still_running_after(workers, 10) == []


KILLED_IMPORTER = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {root!r})
    from catalog.importing.pool import ParserPool

    def parse_slowly(item):
        open(os.path.join({folder!r}, str(os.getpid())), "w").close()  # "I am a worker"
        time.sleep(600)

    with ParserPool(parse_slowly, list(range(10)), lambda item, why: why, 2, 900) as pool:
        list(pool)
    """
)


def test_workers_exit_when_the_importing_process_is_killed(tmp_path):
    """`kill -9` of an import left its two parser workers (about 80 MB each) running forever."""
    script = KILLED_IMPORTER.format(root=str(ROOT), folder=str(tmp_path))
    importer = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [int(p.name) for p in tmp_path.iterdir()]
        assert len(workers) == 2 and sorted(children_of(importer.pid)) == sorted(workers)
    finally:
        importer.send_signal(signal.SIGKILL)
        importer.wait()
    assert still_running_after(workers, 10) == [], "workers still running after their importer was killed"


@pytest.mark.parametrize("trouble", [None, "hang", "crash"])
def test_workers_parse_at_most_a_bounded_number_of_files_ahead_of_the_importer(monkeypatch, trouble):
    """A slow importer (PostgreSQL at 20x) let the parsers pile up every result in memory. Now they wait: what is
    parsed and not yet taken stays within AHEAD and the batches in flight. A file a worker is stuck on, or dies on,
    is still sent again first, though the other worker's results fill what may be ahead (no deadlock)."""
    from catalog.importing import pool as pool_module

    monkeypatch.setattr(pool_module, "AHEAD", 10)
    items = list(range(120))
    if trouble:
        items[3] = trouble
    waiting = []
    with ParserPool(square_unless_told, items, failed, 2, 1) as pool:
        results = []
        for result in pool:
            time.sleep(0.002)  # the importer writing
            waiting.append(pool.results.qsize())
            results.append(result)
    assert [r[0] for i, r in enumerate(results) if not (trouble and i == 3)] == [n * n for n in items if n != trouble]
    assert max(waiting) <= 10 + 2 * pool_module.BATCH and len(waiting) == 120
    assert pool.replaced == (1 if trouble else 0)
