"""Start a detached `manage.py` runner for queued jobs of one model: import jobs (catalog.jobs.runner) and
match jobs (catalog.matching_files.jobs) both run this way."""

import socket
import subprocess
import sys
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
