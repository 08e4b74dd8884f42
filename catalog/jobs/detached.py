"""Detached `manage.py` runners for queued jobs: how they start, whether one is alive, and the lock that lets
one run per database and host. Import jobs (catalog.jobs.runner) and match jobs (catalog.matching_files.jobs)
both run this way."""

import contextlib
import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

HOST = socket.gethostname()[:255]


def start_runner(command: str, queued, failed_status: str) -> int | None:
    """Start `manage.py <command>` detached for the `queued` jobs (a queryset); returns its pid (None: it could
    not start, and the jobs are marked `failed_status`).

    The child is told the database this process uses, so both always agree (tests use their own).
    """
    argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), command]
    argv += ["--database-name", str(connection.settings_dict["NAME"])]
    try:
        process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # not killed with the web worker, nor by a Ctrl-C meant for the server
            close_fds=True,
        )
    except OSError as exc:
        queued.update(status=failed_status, finished_at=timezone.now(), message=f"cannot start: {exc}")
        return None
    queued.update(pid=process.pid, host=HOST)
    # Reap the child when it exits, so a finished runner does not linger as a zombie of this worker.
    threading.Thread(target=process.wait, name=f"reap-{command}-{process.pid}", daemon=True).start()
    return process.pid


def lock_path(kind: str) -> Path:
    """The lock file of `kind`'s runners for the database this process uses (one per database and host)."""
    database = connection.settings_dict
    identity = f"{connection.vendor}:{database.get('HOST')}:{database.get('PORT')}:{database['NAME']}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"sigma-catalog-{kind}-jobs-{digest}.lock"


@contextlib.contextmanager
def runner_lock(kind: str):
    """One runner of `kind` per database on this host at a time; a second one waits here, then drains the queue."""
    with open(lock_path(kind), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def process_alive(pid: int, command: str) -> bool:
    """Whether `pid` is a live `command` process (not a zombie, not a reused pid) on this host."""
    if Path("/proc/self/stat").exists():
        proc = Path(f"/proc/{pid}")
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        # An empty command line is a process in the middle of exec (just started): not yet ours, not dead.
        return (not cmdline or command.encode() in cmdline) and state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
