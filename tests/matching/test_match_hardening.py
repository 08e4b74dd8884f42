"""Matching cannot be turned against other visitors or the server (hardening issue, items 8-11).

8. One client cannot fill the match-job queue: jobs per client (429 + Retry-After) and queued bytes (503).
9. A JSON-array upload is read one event at a time: memory stays bounded and the event limit stops it.
10. Uploads left behind by a worker killed outright are deleted (outside a grace age for files being written).
11. Explanations in one answer are bounded in number and bytes, and the answer says what it left out.
"""

import io
import json
import os
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from catalog.core.sigma.event_files import EventFileError, FileLimits, read_events
from catalog.core.sigma.json_stream import JSONStreamError, json_objects
from catalog.core.sigma.logged_events import EventLimits
from catalog.importing.importer import import_paths
from catalog.matching import jobs
from catalog.matching.engine import forget_compiled
from catalog.models.matching_jobs import MatchJob
from tests.task_worker import run_queued_tasks, task_result

ONE_EVENT = b'{"EventID": 1, "Image": "C:\\\\Windows\\\\a.exe"}\n'


@pytest.fixture(autouse=True)
def fresh(settings, tmp_path):
    forget_compiled()
    settings.CATALOG_MATCH_JOB_DIR = str(tmp_path / "jobs")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "match": None}}
    yield
    forget_compiled()


def upload(client, name="events.jsonl", data=ONE_EVENT, url="/api/match/files/", **extra):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(url, {"file": handle}, **extra)


# --- 8. one client cannot fill the queue ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_client_over_its_share_gets_429_and_others_still_get_in(settings):
    settings.CATALOG_MATCH_MAX_JOBS, settings.CATALOG_MATCH_MAX_JOBS_PER_CLIENT = 10, 2
    greedy, other = Client(REMOTE_ADDR="203.0.113.5"), Client(REMOTE_ADDR="203.0.113.6")
    assert [upload(greedy).status_code for _ in range(2)] == [202, 202]
    refused = upload(greedy)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "at most 2 per client" in refused.json()["error"]
    page = upload(greedy, url="/match/upload/")  # the form counts the same jobs
    assert page.status_code == 429 and int(page["Retry-After"]) > 0 and "at most 2 per client" in page.content.decode()
    assert upload(other).status_code == 202
    assert MatchJob.objects.filter(client="addr:203.0.113.5").count() == 2
    run_queued_tasks()  # finished jobs no longer count
    assert upload(greedy).status_code == 202


@pytest.mark.django_db
def test_the_site_wide_cap_stays(settings):
    settings.CATALOG_MATCH_MAX_JOBS, settings.CATALOG_MATCH_MAX_JOBS_PER_CLIENT = 2, 5
    for number in range(2):
        assert upload(Client(REMOTE_ADDR=f"198.51.100.{number}")).status_code == 202
    refused = upload(Client(REMOTE_ADDR="198.51.100.9"))
    assert refused.status_code == 503 and "at most 2 site-wide" in refused.json()["error"] and refused["Retry-After"]


@pytest.mark.django_db
def test_queued_bytes_are_capped_site_wide(settings):
    settings.CATALOG_MATCH_MAX_QUEUED_BYTES = 3 * len(ONE_EVENT)
    assert upload(Client(REMOTE_ADDR="192.0.2.1"), data=ONE_EVENT * 2).status_code == 202
    refused = upload(Client(REMOTE_ADDR="192.0.2.2"), data=ONE_EVENT * 2)
    assert refused.status_code == 503 and "CATALOG_MATCH_MAX_QUEUED_BYTES" in refused.json()["error"]
    assert int(refused["Retry-After"]) > 0
    assert upload(Client(REMOTE_ADDR="192.0.2.2"), data=ONE_EVENT).status_code == 202  # what still fits
    assert len(os.listdir(settings.CATALOG_MATCH_JOB_DIR)) == 2  # nothing stored for the refused one


@pytest.mark.django_db
def test_the_client_is_the_throttles_identity(settings, django_user_model):
    settings.CATALOG_MATCH_MAX_JOBS_PER_CLIENT = 1
    # Unproxied (NUM_PROXIES 0), a forged X-Forwarded-For does not make a new client.
    assert upload(Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")).status_code == 202
    assert upload(Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="2.2.2.2")).status_code == 429
    # Behind one proxy, the address it forwards is the client.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert upload(Client(REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="3.3.3.3")).status_code == 202
    assert upload(Client(REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="3.3.3.3")).status_code == 429
    assert upload(Client(REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="4.4.4.4")).status_code == 202
    # A logged-in user is one client from any address.
    user = django_user_model.objects.create_user("uploader", password="a long password 1")
    first, second = Client(REMOTE_ADDR="10.1.0.1"), Client(REMOTE_ADDR="10.1.0.2")
    first.force_login(user)
    second.force_login(user)
    assert upload(first, url="/match/upload/").status_code == 302
    assert upload(second, url="/match/upload/").status_code == 429
    assert MatchJob.objects.filter(client=f"user:{user.pk}").count() == 1


# --- 9. JSON arrays are read incrementally ----------------------------------------------------------------


def test_a_big_json_array_is_read_in_bounded_memory(tmp_path):
    one = json.dumps({"EventID": 1, "CommandLine": "x" * 40})
    path = tmp_path / "big.json"
    path.write_text("[" + ",".join([one] * 120_000) + "]", encoding="utf-8")  # 9.8 MB, 120,000 events
    limits = FileLimits(max_bytes=1 << 40, max_events=1000, per_event=EventLimits(max_events=1000))
    tracemalloc.start()
    try:
        with pytest.raises(EventFileError) as error:
            for _ in read_events(path, "big.json", limits):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(error.value).startswith("big.json: more than 1,000 events (at most 1,000 per file)")
    # The file decoded whole is a multiple of its 9.8 MB. Read incrementally, memory is one event plus the
    # parser's 64 KiB buffer and the parse events of one buffer (~0.75 MB measured): bounded by a generous
    # 50,000 events' worth (3.7 MB), whatever the file's size.
    bound = 50_000 * len(one)
    print(f"\npeak {peak:,} bytes reading {path.stat().st_size:,} bytes (bound {bound:,})")
    assert peak < bound < path.stat().st_size / 2


@pytest.mark.django_db
def test_a_json_array_past_the_event_limit_fails_its_job_naming_the_limit(settings):
    settings.CATALOG_MATCH_MAX_FILE_EVENTS = 5
    data = json.dumps([{"EventID": number} for number in range(50)]).encode()
    assert upload(Client(), "many.json", data).status_code == 202
    run_queued_tasks()
    job = MatchJob.objects.get()
    assert job.status == "failed" and job.message.startswith("many.json: more than 5 events (at most 5 per file)")


@pytest.mark.parametrize(
    "data, expected",
    [
        (b'{"a": 1}', [{"a": 1}]),
        (b'[{"a": 1}, 2, [{"x": 1}], {"b": {"c": [1, {"d": 2.5}]}}]', [{"a": 1}, {"b": {"c": [1, {"d": 2.5}]}}]),
        (b'{"a": 1} {"b": 2}\n[{"c": 3}]', [{"a": 1}, {"b": 2}, {"c": 3}]),
        (b'{"item": {"a": 1}}', [{"item": {"a": 1}}]),
        ('\ufeff{"a": "é"}'.encode(), [{"a": "é"}]),
        ('{"a": "é"}'.encode("utf-16"), [{"a": "é"}]),
        (b"  \n", []),
    ],
)
def test_json_files_hold_one_event_a_list_or_several(data, expected):
    assert list(json_objects(io.BytesIO(data), max_depth=32)) == expected


@pytest.mark.parametrize(
    "data, problem",
    [(b"[[[[[1]]]]]", "JSON nested more than 4 levels deep (at most 4)"), (b'{"a": ', "not valid JSON")],
)
def test_bad_json_files_are_named_clearly(data, problem):
    with pytest.raises(JSONStreamError, match=r"^" + problem.replace("(", r"\(").replace(")", r"\)")):
        list(json_objects(io.BytesIO(data), max_depth=4))


# --- 10. uploads orphaned by a crash are deleted ---------------------------------------------------------


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.django_db
def test_a_crashed_jobs_upload_and_stray_files_are_deleted(settings):
    settings.CATALOG_MATCH_ORPHAN_GRACE_SECONDS = 600
    client = Client()
    crashed = MatchJob.objects.get(token=upload(client).json()["job"])
    waiting = MatchJob.objects.get(token=upload(client, "other.jsonl").json()["job"])
    folder = Path(settings.CATALOG_MATCH_JOB_DIR)
    stray, young = folder / f"{uuid.uuid4()}.upload", folder / f"{uuid.uuid4()}.upload"
    stray.write_bytes(b"{}")
    young.write_bytes(b"{}")  # a file being written for a job not saved yet
    for path in (folder / crashed.file_path, folder / waiting.file_path, stray):
        age(path, 3600)
    # kill -9 of the worker mid-match: the job and its task say running, since longer than any match may take.
    MatchJob.objects.filter(pk=crashed.pk).update(status="running")
    started = timezone.now() - timedelta(seconds=2 * settings.CATALOG_MATCH_JOB_SECONDS + 61)
    DBTaskResult.objects.filter(id=crashed.task_id).update(status="RUNNING", started_at=started)
    assert client.get(f"/api/match/jobs/{crashed.token}/").json()["status"] == "failed"  # reconcile, then purge
    assert not (folder / crashed.file_path).exists() and not stray.exists()
    assert young.exists() and (folder / waiting.file_path).exists()  # young, or owned by a live job: kept
    assert (
        MatchJob.objects.get(pk=crashed.pk).file_path == "" and MatchJob.objects.get(pk=waiting.pk).status == "queued"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["failed", "gone"])
def test_a_job_whose_task_failed_or_is_gone_shows_failed_and_loses_its_upload(settings, how):
    """The worker died under the task (db_worker records it failed when stopped) or the task is gone."""
    client = Client()
    job = MatchJob.objects.get(token=upload(client).json()["job"])
    stored = Path(settings.CATALOG_MATCH_JOB_DIR) / job.file_path
    assert stored.exists() and task_result(job.task_id).status == "READY"
    if how == "failed":
        DBTaskResult.objects.filter(id=job.task_id).update(status="FAILED", exception_class_path="builtins.SystemExit")
    else:
        DBTaskResult.objects.filter(id=job.task_id).delete()
    answer = client.get(f"/api/match/jobs/{job.token}/").json()
    assert answer["status"] == "failed" and ("failed" if how == "failed" else "gone") in answer["message"]
    assert not stored.exists() and MatchJob.objects.get(pk=job.pk).file_path == ""
    assert run_queued_tasks() == 0  # nothing left to run: the job stays failed
    assert MatchJob.objects.get(pk=job.pk).status == "failed"


@pytest.mark.django_db
def test_a_queued_job_whose_task_waits_for_a_worker_stays_queued(settings):
    job = MatchJob.objects.get(token=upload(Client()).json()["job"])
    MatchJob.objects.filter(pk=job.pk).update(requested_at=timezone.now() - timedelta(hours=1))
    assert jobs.reconcile() == 0 and MatchJob.objects.get(pk=job.pk).status == "queued"
    assert (Path(settings.CATALOG_MATCH_JOB_DIR) / job.file_path).exists()
    assert run_queued_tasks() == 1 and MatchJob.objects.get(pk=job.pk).status == "done"
    assert task_result(job.task_id).status == "SUCCESSFUL"
    assert not (Path(settings.CATALOG_MATCH_JOB_DIR) / job.file_path).exists()  # deleted once the task ended


@pytest.mark.django_db
def test_purging_old_jobs_deletes_orphans_too(settings):
    folder = Path(jobs.job_dir())
    orphan = folder / "left-behind.upload"
    orphan.write_bytes(b"{}")
    age(orphan, settings.CATALOG_MATCH_ORPHAN_GRACE_SECONDS + 60)
    jobs.purge_old()
    assert not orphan.exists()


@pytest.mark.django_db
def test_a_queue_that_refuses_the_task_leaves_no_job_and_no_upload(settings, monkeypatch):
    settings.CATALOG_MATCH_ORPHAN_GRACE_SECONDS = 0

    def refuse(*args, **kwargs):
        raise ConnectionError("the task queue is down")

    monkeypatch.setattr(DatabaseBackend, "enqueue", refuse)
    answer = upload(Client())
    assert answer.status_code == 503 and "queue is unavailable" in answer.json()["error"]
    assert not MatchJob.objects.exists() and not os.listdir(settings.CATALOG_MATCH_JOB_DIR)


# --- 11. explanations are bounded per answer --------------------------------------------------------------

MARKER = "zq9hardeningmarker"
RULE = """title: Hardening {number}
id: {id}
status: test
description: written for tests/matching/test_match_hardening.py
author: tests
date: 2025-01-01
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        CommandLine|contains: '{marker}'
        Image|endswith: '/sh'
    condition: selection
level: low
"""
EVENT = {"Image": "/bin/sh", "CommandLine": f"{MARKER} " + "A" * 3000}


@pytest.fixture
def many_rules(db, tmp_path):
    """30 rules that all fire on EVENT, each explanation repeating its 3 KB command line."""
    folder = tmp_path / "hardening"
    folder.mkdir()
    for number in range(30):
        text = RULE.format(number=number, id=uuid.uuid4(), marker=MARKER)
        (folder / f"rule_{number}.yml").write_text(text, encoding="utf-8")
    report = import_paths([str(folder)], source="hardening")
    assert not report.errors
    forget_compiled()


def post(client, events):
    return client.post("/api/match/", json.dumps(events), content_type="application/json")


def explained(answer) -> list:
    return [rule["explanation"] for event in answer["events"] for rule in event["rules"] if rule["explanation"]]


def test_a_scans_budget_admits_every_explanation_and_a_bounded_one_weighs_them():
    """A trusted scan (the match_event command) explains every hit unweighed; an answer's budget weighs each."""
    from catalog.matching.budget import ExplanationBudget

    big = {"value": "x" * 100_000}
    unlimited = ExplanationBudget.unlimited()
    assert all(unlimited.admit(big, {"EventID": 1}) for _ in range(1_000))
    assert unlimited.count == 1_000 and unlimited.room and not unlimited.truncated
    bounded = ExplanationBudget(max_count=10, max_bytes=250_000)
    assert bounded.admit(big) and bounded.admit(big) and not bounded.admit(big)
    assert bounded.count == 2 and bounded.spent and not bounded.room


def test_the_api_carries_at_most_the_configured_number_of_explanations(client, settings, many_rules):
    settings.CATALOG_MATCH_MAX_EXPLANATIONS = 7
    answer = post(client, [EVENT, EVENT]).json()
    fired = sum(len(event["rules"]) for event in answer["events"])
    assert fired >= 60 and len(explained(answer)) == 7  # every hit is listed, 7 explained
    assert answer["truncated"] is True and answer["explanations"] == 7
    assert answer["explanations_left_out"] == fired - 7
    assert [event["explanations_left_out"] for event in answer["events"]] == [fired // 2 - 7, fired // 2]
    assert "CATALOG_MATCH_MAX_EXPLANATIONS" in answer["truncated_note"]


def test_the_api_carries_at_most_the_configured_bytes_of_explanations(client, settings, many_rules):
    settings.CATALOG_MATCH_MAX_EXPLANATION_BYTES = 40_000
    whole = post(client, [EVENT] * 3)
    settings.CATALOG_MATCH_MAX_EXPLANATION_BYTES = 10**9
    unbounded = post(client, [EVENT] * 3)
    answer = whole.json()
    shown = sum(len(json.dumps(e, ensure_ascii=False).encode()) for e in explained(answer))
    print(f"\nanswer {len(whole.content):,} bytes within the bound, {len(unbounded.content):,} without it")
    assert 0 < shown <= 40_000 and answer["truncated"] is True and answer["explanation_limits"]["bytes"] == 40_000
    assert len(whole.content) < len(unbounded.content) / 3
    assert unbounded.json()["truncated"] is False and unbounded.json()["explanations_left_out"] == 0


def test_the_match_page_says_what_it_left_out(client, settings, many_rules):
    settings.CATALOG_MATCH_MAX_EXPLANATIONS = 3
    page = client.post("/match/", {"event": json.dumps(EVENT)}).content.decode()
    assert page.count('class="rule-explanation"') == 3
    assert "explanations left out: an answer carries at most 3 explanations" in page
    assert "explanations of this event left out" in page


def test_job_results_are_bounded_and_say_so(client, settings, many_rules):
    settings.CATALOG_MATCH_MAX_EXPLANATIONS, settings.CATALOG_MATCH_SAMPLE_EVENTS = 10, 3
    data = "\n".join(json.dumps(EVENT) for _ in range(5)).encode()
    assert upload(client, data=data).status_code == 202
    run_queued_tasks()
    results = MatchJob.objects.get().results
    mine = [group for group in results["rules"] if group["title"].startswith("Hardening ")]
    assert len(mine) == 30 and all(group["count"] == 5 for group in mine)  # every hit still counted
    assert sum(len(group["samples"]) for group in results["rules"]) == 10
    assert results["truncated"] is True and results["explanations"] == 10
    assert results["explanations_left_out"] == sum(min(3, g["count"]) for g in results["rules"]) - 10
    page = client.get(f"/match/jobs/{MatchJob.objects.get().token}/").content.decode()
    assert f"{results['explanations_left_out']} sample explanations left out" in page


def test_timeline_entries_name_a_bounded_number_of_rules(client, settings, many_rules):
    settings.CATALOG_MATCH_TIMELINE_RULES = 4
    upload(client, data=json.dumps(EVENT).encode())
    run_queued_tasks()
    job = MatchJob.objects.get()
    (entry,) = job.results["timeline"]
    assert len(entry["rules"]) == 4 and entry["rules_left_out"] == len(job.results["rules"]) - 4 >= 26
    page = client.get(f"/match/jobs/{job.token}/").content.decode()
    assert f"and {entry['rules_left_out']} more" in page
