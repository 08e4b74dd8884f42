"""Not a test module: runs the queued django.tasks with the real database backend, in this process.

`run_queued_tasks()` is `manage.py db_worker --batch` without its process-level parts (signal handlers,
and closing "old" connections, which would close the test's own transaction): the worker claims each ready
task, runs it and records its result, until none is left. Returns how many tasks ran.
"""

from __future__ import annotations

from unittest import mock

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_queued_tasks() -> int:
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        worker.run()
    return worker._run_tasks


def task_result(task_id: str) -> DBTaskResult:
    return DBTaskResult.objects.get(id=task_id)
