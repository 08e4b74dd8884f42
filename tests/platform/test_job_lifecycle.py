"""Import jobs and match jobs are one kind of record with one lifecycle (catalog/platform/job_lifecycle.py).

Both tables inherit catalog.models.task_jobs.TaskJob; both features claim, finish and give up their jobs
through the same functions, so a task that failed, or a worker that died, marks either kind failed the same
way. Each feature's own tests (tests/test_import_jobs.py, tests/test_match_hardening.py) check its pages.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django_tasks_db.models import DBTaskResult

from catalog.importing import jobs as import_jobs
from catalog.matching import jobs as match_jobs
from catalog.matching.storage import upload_storage
from catalog.models import ImportJob, MatchJob, Source
from catalog.models.task_jobs import TaskJob
from catalog.platform import job_lifecycle
from tests.task_worker import run_queued_tasks

pytestmark = pytest.mark.django_db
STOPPED = 'Traceback (most recent call last):\n  File "worker.py", line 1, in run\nSystemExit: stopped by a signal'


@pytest.fixture(autouse=True)
def upload_folder(settings, tmp_path):
    settings.CATALOG_MATCH_JOB_DIR = str(tmp_path / "uploads")


def import_job() -> ImportJob:
    """An import job and its queued task, as the admin queues them (without the folder checks)."""
    source = Source.objects.create(name="lifecycle")
    job = ImportJob.objects.create(source=source, roots=["/nowhere"])
    job.task_id = import_jobs.run_import_job.enqueue(job.pk).id
    job.save(update_fields=["task_id"])
    return job


def match_job() -> MatchJob:
    """A match job with its stored upload and queued task, as an upload queues them."""
    job = MatchJob(file_name="events.jsonl", file_format="jsonl")
    job.file_path = upload_storage().save(f"{job.token}.upload", ContentFile(b'{"EventID": 1}\n'))
    job.save()
    job.task_id = match_jobs.run_match_job.enqueue(job.pk).id
    job.save(update_fields=["task_id"])
    return job


KINDS = {"import": (import_job, import_jobs.reconcile), "match": (match_job, match_jobs.reconcile)}


def test_both_job_tables_are_task_jobs_with_the_same_states():
    assert issubclass(ImportJob, TaskJob) and issubclass(MatchJob, TaskJob)
    for model in (ImportJob, MatchJob):
        assert model._meta.get_field("status").choices == TaskJob._meta.get_field("status").choices
        assert [f.name for f in TaskJob._meta.fields if f.name != "id"] == [
            "status",
            "requested_at",
            "started_at",
            "finished_at",
            "task_id",
            "message",
        ]
        assert {"status", "requested_at", "started_at", "finished_at", "task_id", "message"} <= {
            f.name for f in model._meta.fields
        }
    assert (ImportJob._meta.db_table, MatchJob._meta.db_table) == ("catalog_importjob", "catalog_matchjob")


def test_a_failed_task_marks_either_kind_failed_with_the_same_message():
    """The worker was stopped under both tasks: each feature's reconcile gives its job up, word for word alike."""
    jobs = {kind: make() for kind, (make, _reconcile) in KINDS.items()}
    for job in jobs.values():
        DBTaskResult.objects.filter(id=job.task_id).update(
            status="FAILED", exception_class_path="builtins.SystemExit", traceback=STOPPED
        )
    stored = jobs["match"].file_path
    assert upload_storage().exists(stored)
    for kind, (_make, reconcile) in KINDS.items():
        assert reconcile() == 1, kind
        assert reconcile() == 0, kind  # given up once: a failed job is no longer active
    failed = {kind: type(job).objects.get(pk=job.pk) for kind, job in jobs.items()}
    expected = "its task failed (the worker was stopped or broke): SystemExit: stopped by a signal"
    assert {kind: job.message for kind, job in failed.items()} == {"import": expected, "match": expected}
    assert all(job.status == TaskJob.Status.FAILED and job.finished and job.finished_at for job in failed.values())
    assert all(job.started_at is None for job in failed.values())  # never claimed by a worker
    # what only a match job owns is cleared on the way (its upload deleted), as when its task fails it itself
    assert failed["match"].file_path == "" and not upload_storage().exists(stored)


@pytest.mark.parametrize("kind", KINDS)
def test_each_feature_gives_up_its_jobs_through_the_shared_lifecycle(kind, monkeypatch):
    """A feature keeping its own copy of the give-up rules would ignore what the shared module decides."""
    make, reconcile = KINDS[kind]
    job = make()
    asked = []

    def problem(task_id, requested_at, give_up):
        asked.append((task_id, give_up))
        return "given up by the shared lifecycle"

    monkeypatch.setattr(job_lifecycle, "task_problem", problem)
    assert reconcile() == 1
    job = type(job).objects.get(pk=job.pk)
    assert (job.status, job.message) == ("failed", "given up by the shared lifecycle")
    assert [task_id for task_id, _ in asked] == [job.task_id] and asked[0][1] > timedelta(0)
    assert run_queued_tasks() == 1  # the task still runs, and leaves the given-up job alone
    assert type(job).objects.get(pk=job.pk).message == "given up by the shared lifecycle"


@pytest.mark.parametrize("model", [ImportJob, MatchJob])
def test_a_job_is_claimed_once_and_finished_with_its_own_fields(model):
    job = KINDS["import" if model is ImportJob else "match"][0]()
    assert job_lifecycle.claim(model, job.pk) is True
    running = model.objects.get(pk=job.pk)
    assert running.status == "running" and running.started_at and not running.finished
    assert job_lifecycle.claim(model, job.pk) is False  # a second worker, or a redelivered task, runs nothing
    job_lifecycle.finish(model, job.pk, TaskJob.Status.DONE, message="all went well")
    done = model.objects.get(pk=job.pk)
    assert (done.status, done.message, done.finished) == ("done", "all went well", True)
    assert done.finished_at >= done.started_at
    assert job_lifecycle.claim(model, job.pk) is False
