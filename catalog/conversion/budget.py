"""Conversions made for a request run in a forked child process, under a time and a memory budget.

A pySigma backend is plain Python working on the rule objects: nothing can interrupt it from another
thread, and a conversion that grows (a pipeline expanding values, a backend bug looping) would hold
a web worker and its memory. So, as the importer's parser pool does for files, a conversion made
while `request_budget()` is active runs in a child forked for it:
- the child's address space is capped (RLIMIT_AS: its size at the fork plus the memory budget): a
  conversion that outgrows it gets MemoryError there, never in the web worker;
- its CPU time is capped too (RLIMIT_CPU), so it ends by itself even if the web worker dies first;
- the parent waits for the answer until the request's deadline, then kills the child.
The child only computes and sends back a pickled result: it inherits the worker's database
connection but never uses it, and leaves through os._exit (no atexit handlers, no buffers flushed).
One deadline covers every conversion of a request (/preview/ converts for five targets).
Outside a budget (imports, bulk exports, `manage.py convert_rules`) the function runs in-process.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import math
import os
import pickle
import resource
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass
class Budget:
    deadline: float  # time.monotonic() value
    memory_bytes: int
    ran_out: bool = False  # a conversion under it was stopped: its answer says so and must not be cached


class BudgetExceeded(Exception):
    """The conversion ran out of its time or memory, or its process died: the message says which."""


_active: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("conversion_budget", default=None)
_in_child = False


def in_child() -> bool:
    """Whether this process is a budgeted conversion's child (a MemoryError is then the budget's)."""
    return _in_child


@contextlib.contextmanager
def request_budget(seconds: float | None = None, memory_mb: int | None = None) -> Iterator[Budget]:
    """Run the conversions made inside under one time and memory budget (the settings' by default).
    Nested uses keep the outer, earlier deadline."""
    outer = _active.get()
    if outer is not None:
        yield outer
        return
    seconds = settings.CATALOG_CONVERT_SECONDS if seconds is None else seconds
    memory_mb = settings.CATALOG_CONVERT_MEMORY_MB if memory_mb is None else memory_mb
    budget = Budget(time.monotonic() + seconds, memory_mb * 1024 * 1024)
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)


def run(function: Callable[..., Any], *args: Any) -> Any:
    """function(*args): in a budgeted child inside request_budget(), else here. Raises BudgetExceeded."""
    budget = _active.get()
    if budget is None or _in_child:
        return function(*args)
    seconds = budget.deadline - time.monotonic()
    try:
        if seconds <= 0:
            raise BudgetExceeded(
                f"not converted: this request's {settings.CATALOG_CONVERT_SECONDS:g} s conversion budget is used up"
            )
        return _in_process(function, args, budget, seconds)
    except BudgetExceeded:
        budget.ran_out = True
        raise


def _in_process(function: Callable[..., Any], args: tuple, budget: Budget, seconds: float) -> Any:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave
        os.close(read_end)
        _child(function, args, budget.memory_bytes, seconds, write_end)
    os.close(write_end)
    data, finished = _collect(read_end, budget.deadline)
    if data:  # answered: the child is leaving, and its exit (unmapping a copy of the worker) need not be waited on
        threading.Thread(target=_reap, args=(pid, False), name="conversion-reaper", daemon=True).start()
        status = None
    else:
        status = _reap(pid, kill=not finished)
    if not finished:
        raise BudgetExceeded(
            f"conversion stopped: it took longer than the {settings.CATALOG_CONVERT_SECONDS:g} s budget of a request"
        )
    if not data:
        raise BudgetExceeded(f"conversion stopped: its process ended without an answer ({_describe(status)})")
    kind, value = pickle.loads(data)
    if kind == "ok":
        return value
    if kind == "memory":
        limit = budget.memory_bytes // (1024 * 1024)
        raise BudgetExceeded(f"conversion stopped: it needed more than its {limit} MB memory budget")
    raise BudgetExceeded(f"conversion failed: {value}")


def _child(function, args, memory_bytes: int, seconds: float, write_end: int) -> None:
    global _in_child
    code = 0
    try:
        _in_child = True
        # What the child inherited is never collected: a collection would walk (and so copy, page by
        # page) the whole worker's heap, as in the importer's workers.
        gc.freeze()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
        _limit(memory_bytes, seconds)
        try:
            outcome = ("ok", function(*args))
        except MemoryError:
            outcome = ("memory", "")
        except BaseException as exc:  # noqa: BLE001  (reported to the parent, which decides)
            outcome = ("raised", f"{type(exc).__name__}: {exc}")
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("memory", ""))
        except Exception as exc:  # an answer that cannot be pickled
            data = pickle.dumps(("raised", f"answer not sendable: {type(exc).__name__}: {exc}"))
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
        os.close(write_end)  # the answer is complete for the parent now, before the exit's teardown
    except BaseException:  # noqa: BLE001  (nothing may escape the child into the server's code)
        code = 1
    finally:
        os._exit(code)


def _limit(memory_bytes: int, seconds: float) -> None:
    """Cap the child's address space at its size now plus the budget, and its CPU time near the deadline."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = size + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
    with contextlib.suppress(OSError, ValueError):
        cpu = math.ceil(seconds) + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard == resource.RLIM_INFINITY or hard > cpu:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _collect(read_end: int, deadline: float) -> tuple[bytes, bool]:
    """(what the child wrote, whether it finished before the deadline)."""
    chunks = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return b"", False
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                return b"", False
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
    finally:
        os.close(read_end)


def _reap(pid: int, kill: bool) -> int | None:
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): nothing left to wait for
        return None


def _describe(status: int | None) -> str:
    if status is None:
        return "exit status unknown"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"killed by {signal.Signals(number).name}" if number in signal.Signals._value2member_map_ else "killed"
    return f"exit code {os.WEXITSTATUS(status)}"
