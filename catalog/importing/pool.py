"""Worker processes for parsing, each file under a time budget, none outliving the import.

Parsing runs in forked worker processes, always (one worker for a few files, one per core for many):
* a file that takes longer than the budget is reported and its worker killed and replaced;
* a worker that dies (a crash in a C extension, the OOM killer) costs only the file it was on;
* workers exit with the importing process, even after `kill -9` of it (PR_SET_PDEATHSIG on Linux,
  else a watchdog thread that polls the parent's pid).
A thread of the importing process hands out work and collects results, so workers keep parsing
while the importer writes SQL (up to AHEAD files ahead of it), and a deadline is noticed while the importer is
busy. It also forks the replacement workers, as multiprocessing.Pool does (its worker-handler thread forks too); the
workers touch nothing of the parent's but their own pipe and the parsing code.
Files go out in small batches, each to an idle worker only, and come back as one message per batch,
so neither side ever blocks on a full pipe and few messages cross. Which file a worker is on, and
since when, it writes into a small shared array: that is how an overrun is noticed and charged.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
BATCH = 16  # files per message: fewer round trips, and a fair share at the end (see _next_batch)
# Files parsed ahead of the importer (results waiting to be taken): when writing is the slower side (PostgreSQL at
# 20x SigmaHQ), the parsers raced through every file and their results piled up: 180 MB of the importing process.
AHEAD = 2000


class _Raised:
    """What a worker sends back when the function raised instead of returning."""

    def __init__(self, description: str):
        self.description = description


def _exit_with_parent(parent_pid: int) -> None:
    """Make this worker die when the importing process does, however that process ends."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):  # not Linux: watch the parent's pid instead

        def watchdog() -> None:
            while os.getppid() == parent_pid:
                time.sleep(1)
            os._exit(1)

        threading.Thread(target=watchdog, daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _serve(conn, function: Callable[[Any], Any], parent_pid: int, progress) -> None:
    _exit_with_parent(parent_pid)
    # What the worker inherited lives as long as it does: keep it out of garbage collection, which would
    # otherwise walk (and so copy, page by page) the importer's objects in every collection.
    gc.freeze()
    gc.enable()  # the importer pauses collection for itself (importer.py); pySigma's objects hold cycles
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importer's to handle; it stops us
    while True:
        try:
            batch = conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        results = []
        for index, item in batch:
            progress[CURRENT], progress[SINCE] = index, time.monotonic()
            try:
                results.append((index, function(item)))
            except Exception as exc:  # the function is meant to catch everything itself
                results.append((index, _Raised(f"{type(exc).__name__}: {exc}")))
        progress[SINCE] = 0.0  # between files
        try:
            conn.send(results)
        except Exception as exc:  # e.g. a result that cannot be pickled: one at a time, to find it
            conn.send([(index, _sendable(result, exc)) for index, result in results])


def _sendable(result: Any, exc: Exception) -> Any:
    try:
        pickle.dumps(result)
    except Exception:
        return _Raised(f"result not sendable: {type(exc).__name__}: {exc}")
    return result


CURRENT, SINCE = 0, 1  # the progress array: index of the file being prepared, monotonic time it began (0: none)


class _Worker:
    def __init__(self, context, function):
        self.conn, child_end = context.Pipe()
        self.progress = context.RawArray("d", 2)  # shared memory, written by the worker
        self.process = context.Process(
            target=_serve, args=(child_end, function, os.getpid(), self.progress), daemon=True
        )
        self.process.start()
        child_end.close()  # so the worker's death reads as EOF here, and later workers don't inherit it
        self.batch: list[int] = []  # indices sent and not answered yet

    def current(self) -> tuple[int | None, float]:
        """(index of the file the worker is on, when it began); (None, now) between files."""
        since = self.progress[SINCE]
        index = int(self.progress[CURRENT])
        if since == 0.0 or since != self.progress[SINCE] or index not in self.batch:
            return None, time.monotonic()  # between files (or moving on to the next one right now)
        return index, since

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(OSError):  # already gone
                self.conn.send(None)
        self.process.join(timeout=None if kill else 5)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
        self.conn.close()


class ParserPool:
    """Map `function` over `items` in worker processes; results come back in order.

    `failed(item, message)` builds the result for an item whose worker overran the budget or died.
    Use as a context manager: leaving it (also by an exception) stops every worker.
    """

    def __init__(
        self,
        function: Callable[[Any], Any],
        items: Sequence[Any],
        failed: Callable[[Any, str], Any],
        workers: int,
        budget_seconds: float,
    ):
        self.function, self.items, self.failed = function, items, failed
        self.size = max(1, min(workers, len(items)))
        self.budget = budget_seconds
        self.context = multiprocessing.get_context("fork")
        self.results: queue.Queue = queue.Queue()
        self.todo: deque[int] = deque(range(len(items)))
        self.retry: deque[int] = deque()  # files of a replaced worker's batch: sent again first, whatever is ahead
        self.taken = 0  # results the consumer has taken (in order)
        self.stop_read, self.stop_write = os.pipe()
        self.thread = threading.Thread(target=self._manage, name="catalog-parser-pool", daemon=True)
        self.replaced = 0

    def __enter__(self) -> ParserPool:
        if self.items:
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        os.write(self.stop_write, b"x")
        if self.thread.is_alive():
            self.thread.join()
        os.close(self.stop_read)
        os.close(self.stop_write)

    def __iter__(self) -> Iterator[Any]:
        done: dict[int, Any] = {}
        for wanted in range(len(self.items)):
            while wanted not in done:
                index, result = self.results.get()
                if index is None:  # the manager thread failed: re-raise its exception here
                    raise result
                done[index] = result
            self.taken = wanted + 1
            yield done.pop(wanted)

    # -- the manager thread ----------------------------------------------------------------------
    def _manage(self) -> None:
        workers: list[_Worker] = []
        try:
            workers = [_Worker(self.context, self.function) for _ in range(self.size)]
            while self.todo or self.retry or any(w.batch for w in workers):
                for worker in workers:
                    if not worker.batch and (self.retry or (self.todo and self.todo[0] - self.taken < AHEAD)):
                        self._send(worker, workers)
                busy = [w for w in workers if w.batch]
                if not busy:  # AHEAD files are parsed and waiting: until the importer takes some
                    if self.stop_read in wait([self.stop_read], 0.05):
                        return
                    continue
                timeout = max(0.0, min(w.current()[1] for w in busy) + self.budget - time.monotonic())
                ready = wait([w.conn for w in busy] + [self.stop_read], timeout)
                if self.stop_read in ready:
                    return
                for worker in busy:
                    if worker.conn in ready:
                        self._receive(worker, workers)
                for worker in [w for w in workers if w.batch]:
                    index, since = worker.current()
                    if index is not None and time.monotonic() - since > self.budget:
                        why = f"took longer than the {self.budget:g} s budget per file"
                        self._replace(worker, workers, index, why)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self.results.put((None, exc))
        finally:
            for worker in workers:
                worker.stop(kill=bool(worker.batch))

    def _send(self, worker: _Worker, workers: list[_Worker]) -> None:
        # Smaller batches near the end, so the last files are shared rather than queued behind one worker.
        size = max(1, min(BATCH, len(self.todo) // (2 * self.size)))
        files = self.retry or self.todo
        worker.batch = [files.popleft() for _ in range(min(size, len(files)))]
        try:
            worker.conn.send([(index, self.items[index]) for index in worker.batch])
        except OSError:  # the worker died while idle (killed from outside): its batch goes to a fresh one
            self._replace(worker, workers, None, "")

    def _receive(self, worker: _Worker, workers: list[_Worker]) -> None:
        try:
            results = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(timeout=5)
            index, _ = worker.current()
            self._replace(worker, workers, index, f"its parser process died (exit code {worker.process.exitcode})")
            return
        worker.batch = []
        for index, result in results:
            if isinstance(result, _Raised):
                result = self.failed(self.items[index], f"could not be parsed ({result.description})")
            self.results.put((index, result))

    def _replace(self, worker: _Worker, workers: list[_Worker], index: int | None, why: str) -> None:
        """Report the file the worker was on (if known), requeue the rest of its batch, start a fresh worker.

        The rest includes files of the batch it had finished: their results were not sent yet.
        """
        if index is not None:
            self.results.put((index, self.failed(self.items[index], why)))
        self.retry.extend(i for i in worker.batch if i != index)
        worker.batch = []
        worker.stop(kill=True)
        self.replaced += 1
        if self.replaced > len(self.items) + 10:  # dying outside any file, again and again: give up
            raise RuntimeError(f"parser worker processes keep dying ({why or 'while idle'})")
        workers[workers.index(worker)] = _Worker(self.context, self.function)
