"""Where an import's time goes: CPU seconds of the importing process per step, for benchmarks.import_bench.

Each step is a function of the importer (or of what it calls) wrapped for the length of one import. Times are the
main thread's CPU (time.thread_time), exclusive: a step nested in another (the search rows inside the child rows)
is counted once, in itself. What the main thread spends outside every step is "other" (SQL of the steps not listed,
the commit); the pool's manager thread (receiving and unpickling the workers' results) is the process's CPU less
the main thread's; waiting for the workers is wall time. A step the code no longer has is reported missing, not an
error: the benchmark outlives refactors.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import time
from collections import defaultdict

# (module, attribute path, label), in the order an import runs them.
STEPS = [
    ("catalog.importing.importer", "find_rule_files", "find files"),
    ("catalog.importing.existing", "CatalogState.__init__", "read existing rows"),
    ("catalog.importing.importer", "_ImportRun._read", "read and hash files"),
    ("catalog.importing.importer", "_ImportRun._sort", "sort new / changed / unchanged"),
    ("catalog.importing.writer", "RuleWriter._create", "rule rows (new)"),
    ("catalog.importing.writer", "RuleWriter._update", "rule rows (changed) and versions"),
    ("catalog.importing.writer", "RuleWriter._write_children", "child rows (stages, predicates, links)"),
    ("catalog.importing.references", "ReferenceData.indicator_ids", "indicators"),
    ("catalog.search.index", "refresh", "search rows (FTS)"),
    ("catalog.importing.importer", "_ImportRun._retire_missing", "retire missing"),
    ("catalog.importing.test_events", "refresh", "test events"),
    ("catalog.publishing.visibility", "recount_corpus", "corpus counts"),
    ("catalog.coverage.summary", "refresh", "need signatures (coverage)"),
    ("catalog.publishing.summaries", "refresh", "summary tables"),
    ("catalog.importing.importer", "refresh_statistics", "ANALYZE"),
    ("catalog.importing.importer", "vacuum_rules", "VACUUM"),
]


class Phases:
    def __init__(self):
        self.cpu: dict[str, float] = defaultdict(float)
        self.missing: list[str] = []
        self.waited = 0.0  # wall seconds the main thread waited for parse results
        self._stack: list[list] = []  # [label, start, time of nested steps]

    def _timed(self, label: str, function):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            frame = [label, time.thread_time(), 0.0]
            self._stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                self._stack.pop()
                elapsed = time.thread_time() - frame[1]
                self.cpu[label] += elapsed - frame[2]
                if self._stack:
                    self._stack[-1][2] += elapsed

        return timed

    @contextlib.contextmanager
    def wrapped(self):
        """Wrap every step (and the pool's result iterator) for the block; unwrap after."""
        undo = []
        for module_name, path, label in STEPS:
            owner = importlib.import_module(module_name)
            *parents, name = path.split(".")
            for parent in parents:
                owner = getattr(owner, parent, None)
            original = getattr(owner, name, None) if owner is not None else None
            if original is None:
                self.missing.append(label)
                continue
            setattr(owner, name, self._timed(label, original))
            undo.append((owner, name, original))
        from catalog.importing.pool import ParserPool

        iterate = ParserPool.__iter__
        phases = self

        def waited(pool):
            results = iterate(pool)
            while True:
                started = time.perf_counter()
                try:
                    result = next(results)
                except StopIteration:
                    return
                finally:
                    phases.waited += time.perf_counter() - started
                yield result

        ParserPool.__iter__ = waited
        undo.append((ParserPool, "__iter__", iterate))
        try:
            yield self
        finally:
            for owner, name, original in reversed(undo):
                setattr(owner, name, original)

    def rows(self, main_cpu: float, process_cpu: float) -> list[tuple[str, float]]:
        """(label, CPU seconds) for every step that took any, then other, the manager thread and the wait."""
        rows = [(label, self.cpu[label]) for _, _, label in STEPS if self.cpu.get(label, 0.0) >= 0.005]
        rows.append(("other (main thread)", main_cpu - sum(self.cpu.values())))
        rows.append(("receiving results (pool thread)", process_cpu - main_cpu))
        return rows
