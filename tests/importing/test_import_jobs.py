"""Imports started from the admin: limited to CATALOG_IMPORT_ROOTS, run in the background, never lost.

Issue 8 §6: an update-all re-import ran inside the request and hit the worker timeout (a 500, rolled
back, no record); any server folder could be imported from the admin; a source's folders only ever
grew. Re-imports run as django.tasks tasks: most tests run the queued tasks in this process with the real
database backend (tests/task_worker.py); the background tests start a real `manage.py db_worker` in a
child process, on a database of their own (a child process cannot see the test's uncommitted
transaction, nor SQLite's in-memory test database), and poll the job's row until it records an outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from catalog.importing import jobs as runner
from catalog.importing.importer import import_paths
from catalog.importing.roots import RootNotAllowed, check_root
from catalog.models import ImportJob, ImportRun, Rule, Source
from tests.task_worker import run_queued_tasks, task_result

ROOT = Path(__file__).resolve().parents[2]  # the repository
CERTUTIL_ID = "fb6ebed3-a7c3-43fe-bd17-93997d27921a"
CERTUTIL = "windows/process_creation/proc_creation_win_certutil_remote_download.yml"
WAIT_SECONDS = 120  # a guard against hanging forever, not a speed requirement


# -- the allow-list ----------------------------------------------------------------------------------------
@pytest.fixture
def allowed(tmp_path, settings):
    folder = tmp_path / "allowed"
    (folder / "repo").mkdir(parents=True)
    settings.CATALOG_IMPORT_ROOTS = [str(folder)]
    return folder


def test_folders_inside_the_allow_list_are_accepted_resolved(allowed):
    assert check_root(str(allowed / "repo")) == (allowed / "repo").resolve()
    assert check_root(str(allowed)) == allowed.resolve()


@pytest.mark.parametrize(
    "folder, message",
    [
        ("{outside}", "is outside the folders the admin may import from"),
        ("{allowed}/repo/../../outside", "resolves to"),
        ("{allowed}/link-out", "resolves to"),  # a symlink inside the allowed folder, pointing out
        ("{allowed}/missing", "no such folder"),
        ("relative/path", "not an absolute path"),
    ],
)
def test_folders_outside_the_allow_list_are_refused(allowed, tmp_path, folder, message):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "db_config.yml").write_text("title: secret\n")
    (allowed / "link-out").symlink_to(outside)
    with pytest.raises(RootNotAllowed, match=message):
        check_root(folder.format(outside=outside, allowed=allowed))


def test_an_empty_allow_list_turns_admin_imports_off(settings, tmp_path):
    settings.CATALOG_IMPORT_ROOTS = []
    with pytest.raises(RootNotAllowed, match="imports from the admin are turned off: CATALOG_IMPORT_ROOTS is empty"):
        check_root(str(tmp_path))


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, [str(ROOT / "rules")]),  # unset: the project's own example rules only
        ("", []),
        ("/srv/sigma:/srv/other rules", ["/srv/sigma", "/srv/other rules"]),
    ],
)
def test_the_setting_is_read_from_the_environment(value, expected):
    env = {k: v for k, v in os.environ.items() if k != "CATALOG_IMPORT_ROOTS"}
    if value is not None:
        env["CATALOG_IMPORT_ROOTS"] = value
    code = "import json; from config import settings; print(json.dumps(settings.CATALOG_IMPORT_ROOTS))"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == expected


# -- the admin refuses folders outside the allow-list --------------------------------------------------------
@pytest.fixture
def superuser(django_user_model, client, db):
    user = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(user)
    return user


@pytest.fixture
def source(examples, db):
    report = import_paths([str(examples)], source="examples")
    assert not report.errors
    return Source.objects.get(name="examples")


def test_a_source_outside_the_allow_list_is_not_reimported(client, superuser, source, settings, tmp_path):
    settings.CATALOG_IMPORT_ROOTS = [str(tmp_path / "somewhere-else")]
    confirm = client.get(f"/admin/catalog/source/{source.pk}/reimport/")
    assert "outside the folders the admin may import from" in confirm.content.decode()
    assert b"Re-import now" not in confirm.content
    response = client.post(f"/admin/catalog/source/{source.pk}/reimport/")
    assert response.status_code == 200 and "not re-imported" in response.content.decode()
    response = client.post(
        "/admin/catalog/source/", {"action": "reimport_sources", "_selected_action": [source.pk], "index": 0}
    )
    assert not ImportJob.objects.exists()
    settings.CATALOG_IMPORT_ROOTS = []
    page = client.post(f"/admin/catalog/source/{source.pk}/reimport/", follow=True).content.decode()
    assert "CATALOG_IMPORT_ROOTS is empty" in page and not ImportJob.objects.exists()


def test_the_command_line_stays_unrestricted(examples, settings, db):
    settings.CATALOG_IMPORT_ROOTS = []
    out = StringIO()
    call_command("import_rules", str(examples), "--source", "cli", stdout=out)
    assert Rule.objects.filter(source__name="cli").count() == 35


def test_the_admin_pages_of_sources_and_jobs_render(client, superuser, source, examples, settings):
    settings.CATALOG_IMPORT_ROOTS = [str(examples.parent)]
    job = queue(source, [str(examples)])
    for url in [
        "/admin/",
        "/admin/catalog/source/",
        "/admin/catalog/source/add/",
        f"/admin/catalog/source/{source.pk}/change/",
        "/admin/catalog/importjob/",
        f"/admin/catalog/importjob/{job.pk}/change/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert (
        f"/admin/catalog/importjob/{job.pk}/change/"
        in client.get(f"/admin/catalog/source/{source.pk}/change/").content.decode()
    )


# -- a source's folders, seen and edited ----------------------------------------------------------------------
def test_a_superuser_edits_a_sources_folders_within_the_allow_list(client, superuser, source, examples, settings):
    settings.CATALOG_IMPORT_ROOTS = [str(examples.parent)]
    stale = examples.parent / "old-checkout"
    stale.mkdir()
    Source.objects.filter(pk=source.pk).update(roots=[str(examples), str(stale)])
    url = f"/admin/catalog/source/{source.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and str(stale) in page.content.decode()

    outside = examples.parent.parent / "outside"
    outside.mkdir()
    response = client.post(url, {"roots": f"{examples}\n{outside}"})
    assert (
        response.status_code == 200 and "is outside the folders the admin may import from" in response.content.decode()
    )
    source.refresh_from_db()
    assert source.roots == [str(examples), str(stale)]

    response = client.post(url, {"roots": f"{examples}\n"})
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.roots == [str(examples)] and source.name == "examples"


def test_a_curator_sees_the_folders_but_cannot_change_them(client, django_user_model, source, settings, examples):
    settings.CATALOG_IMPORT_ROOTS = [str(examples.parent)]
    curator = django_user_model.objects.create_user("carol", password="x", is_staff=True)
    curator.groups.add(Group.objects.get(name="curator"))
    client.force_login(curator)
    url = f"/admin/catalog/source/{source.pk}/change/"
    page = client.get(url).content.decode()
    assert f"<code>{source.roots[0]}</code>" in page and 'name="roots"' not in page
    assert client.post(url, {"roots": "/etc"}).status_code == 403
    source.refresh_from_db()
    assert source.roots != ["/etc"]
    assert client.get("/admin/catalog/importjob/").status_code == 403  # jobs are for those who may re-import


# -- a job's outcome, in this process ---------------------------------------------------------------------------
def queue(source, roots, **fields) -> ImportJob:
    """A job and its task, as runner.enqueue makes them (without its checks of the folders)."""
    job = ImportJob.objects.create(source=source, roots=roots, **fields)
    job.task_id = runner.run_import_job.enqueue(job.pk).id
    job.save(update_fields=["task_id"])
    return job


def test_a_job_records_a_failure_instead_of_raising(source, examples, settings):
    settings.CATALOG_IMPORT_ROOTS = [str(examples.parent)]
    job = queue(source, [str(examples)])
    settings.CATALOG_IMPORT_ROOTS = []  # changed since it was queued: checked again when it runs
    assert run_queued_tasks() == 1
    job.refresh_from_db()
    assert job.status == "failed" and "CATALOG_IMPORT_ROOTS is empty" in job.message and job.finished_at


def test_jobs_run_oldest_first_and_each_records_its_run(source, examples, settings):
    settings.CATALOG_IMPORT_ROOTS = [str(examples.parent)]
    first, second = queue(source, [str(examples)]), queue(source, [str(examples)])
    assert run_queued_tasks() == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("done", "done")
    assert first.started_at <= second.started_at and first.import_run_id < second.import_run_id
    assert ImportRun.objects.get(pk=second.import_run_id).unchanged == 35
    assert task_result(first.task_id).status == task_result(second.task_id).status == "SUCCESSFUL"


# -- dead jobs never show as running ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["queued", "running"])
@pytest.mark.parametrize("task", ["failed", "gone"])
def test_a_job_whose_task_failed_or_is_gone_is_marked_failed(client, superuser, source, status, task):
    job = queue(source, ["/x"], status=status)
    if task == "failed":  # db_worker records a task failed when its worker is stopped in the middle
        DBTaskResult.objects.filter(id=job.task_id).update(status="FAILED", exception_class_path="builtins.SystemExit")
    else:
        DBTaskResult.objects.filter(id=job.task_id).delete()
    page = client.get("/admin/catalog/importjob/")
    assert page.status_code == 200
    job.refresh_from_db()
    expected = "its task failed" if task == "failed" else "is gone from the queue"
    assert job.status == "failed" and expected in job.message and job.finished_at
    assert expected in client.get(f"/admin/catalog/importjob/{job.pk}/change/").content.decode()


def test_a_running_task_keeps_its_job_running_until_it_runs_too_long(source, settings):
    job = queue(source, ["/x"], status="running")
    DBTaskResult.objects.filter(id=job.task_id).update(status="RUNNING", started_at=timezone.now())
    assert runner.reconcile() == 0
    job.refresh_from_db()
    assert job.status == "running"
    # kill -9 of the worker: its task stays "running"; past CATALOG_TASK_GIVE_UP_SECONDS the job is given up.
    settings.CATALOG_TASK_GIVE_UP_SECONDS = 60
    DBTaskResult.objects.filter(id=job.task_id).update(started_at=timezone.now() - timedelta(seconds=61))
    assert runner.reconcile() == 1
    job.refresh_from_db()
    assert job.status == "failed" and "worker probably died" in job.message


def test_a_queued_task_waits_for_a_worker_and_a_job_without_a_task_is_given_up(source):
    old = timezone.now() - timedelta(minutes=5)
    waiting = queue(source, ["/x"], requested_at=old - timedelta(days=1))  # no worker yet: it stays queued
    never_queued = ImportJob.objects.create(source=source, roots=["/x"], requested_at=old)
    just_saved = ImportJob.objects.create(source=source, roots=["/x"])
    assert runner.reconcile() == 1
    statuses = {job.pk: job.status for job in ImportJob.objects.all()}
    assert statuses == {waiting.pk: "queued", never_queued.pk: "failed", just_saved.pk: "queued"}
    assert "no task was queued" in ImportJob.objects.get(pk=never_queued.pk).message


# -- real background runs, on a database of their own ----------------------------------------------------------------
@pytest.fixture
def own_database(django_db_blocker, tmp_path):
    """A fresh, migrated database that this test commits to and a child process opens by name.

    The session's test database is left alone (its connection is set aside, not closed: SQLite's
    in-memory test database would vanish with it).
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    with django_db_blocker.unblock():
        original = connections["default"]
        if original.vendor == "sqlite":
            name = str(tmp_path / "jobs.sqlite3")
        else:
            name = f"{original.settings_dict['NAME']}_jobs"[:63]
            _drop_and_create(original, name)
        wrapper = original.__class__({**original.settings_dict, "NAME": name}, "default")
        connections["default"] = wrapper
        ContentType.objects.clear_cache()
        try:
            call_command("migrate", verbosity=0)
            call_command("createcachetable", verbosity=0)  # the database cache, where one is configured
            yield name
        finally:
            wrapper.close()
            connections["default"] = original
            ContentType.objects.clear_cache()
            if original.vendor == "postgresql":
                _drop_and_create(original, name, create=False)


def _drop_and_create(connection, name: str, create: bool = True) -> None:
    quoted = connection.ops.quote_name(name)
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        if create:
            cursor.execute(f"CREATE DATABASE {quoted}")


@pytest.fixture
def background(own_database, examples, settings, monkeypatch, client):
    """The examples imported into the own database, admin imports allowed from them, a superuser logged in.

    The child process reads its settings from the environment, so the allow-list is set there too.
    No `db` fixture here: its transaction would keep everything from the child (and on_commit from firing).
    """
    from django.contrib.auth import get_user_model

    settings.CATALOG_IMPORT_ROOTS = [str(examples.parent)]
    monkeypatch.setenv("CATALOG_IMPORT_ROOTS", str(examples.parent))
    report = import_paths([str(examples)], source="examples")
    assert not report.errors and report.created == 35
    client.force_login(get_user_model().objects.create_superuser("root", password="x"))
    return Source.objects.get(name="examples")


def wait_for(job: ImportJob, *statuses: str) -> ImportJob:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job #{job.pk} still {job.status} after {WAIT_SECONDS} s, expected {statuses}")


def start_worker(own_database: str, *extra: str) -> subprocess.Popen:
    """A real `manage.py db_worker` on the test's own database (a child reads its settings from the environment)."""
    from django.db import connections

    if connections["default"].vendor == "sqlite":
        url = f"sqlite:///{own_database}"
    else:
        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + own_database  # same server, its own database
    argv = [sys.executable, str(ROOT / "manage.py"), "db_worker", "--no-reload", "--no-startup-delay", "-v0", *extra]
    return subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, stdin=subprocess.DEVNULL)


def test_an_admin_reimport_runs_in_the_background_to_completion(client, background, examples, own_database):
    path = examples / CERTUTIL
    path.write_text(path.read_text().replace("title: Certutil", "title: Changed Certutil"))
    started = time.monotonic()
    response = client.post(f"/admin/catalog/source/{background.pk}/reimport/")
    answered = time.monotonic() - started
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.task_id and task_result(job.task_id).status == "READY"  # a task was queued for it
    print(f"\nthe re-import request answered in {answered * 1000:.0f} ms; the job runs on its own")
    page = client.get(response["Location"]).content.decode()
    assert job.status == "queued" and 'http-equiv="refresh"' in page  # the page follows the job until it finishes

    worker = start_worker(own_database, "--batch")
    try:
        wait_for(job, "done", "failed")
    finally:
        worker.wait(WAIT_SECONDS)
    assert job.status == "done", job.message
    assert job.summary.startswith("29 files read; rules: 0 created, 1 updated, 34 unchanged")
    assert job.started_at and job.finished_at and job.import_run_id
    assert task_result(job.task_id).status == "SUCCESSFUL"
    assert Rule.objects.get(uuid=CERTUTIL_ID).title.startswith("Changed Certutil")
    page = client.get(response["Location"]).content.decode()
    assert "1 updated" in page and f"Import run #{job.import_run_id}" in page and 'http-equiv="refresh"' not in page


def test_a_failure_in_the_background_is_recorded(client, background, examples, own_database):
    response = client.post(f"/admin/catalog/source/{background.pk}/reimport/")
    assert response.status_code == 302
    job = ImportJob.objects.get()
    renamed = examples.parent / "moved-away"
    examples.rename(renamed)  # the folder is gone by the time the job runs
    try:
        worker = start_worker(own_database, "--batch")
        wait_for(job, "done", "failed")
        worker.wait(WAIT_SECONDS)
    finally:
        renamed.rename(examples)
    assert job.status == "failed" and "no such folder" in job.message and job.finished_at
