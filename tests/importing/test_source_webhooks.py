"""Issue 23 §1: push webhooks and the admin queue git syncs as background tasks; nothing else runs one.

`POST /api/sources/<name>/webhook/` with GitHub's signature or GitLab's token queues one sync job; a bad
signature, a missing secret, an unknown source, an oversized body all get their refusal and queue nothing.
Queued tasks are run in this process by the real database backend (tests/task_worker.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.core.cache import caches

from catalog.importing.syncing import add_source
from catalog.models import ImportJob, Rule, Source
from tests.importing.git_repos import ALPHA, Upstream
from tests.task_worker import run_queued_tasks

pytestmark = pytest.mark.django_db
SECRET = "webhook-secret-of-team"
URL = "/api/sources/team/webhook/"


def webhook_rate(settings, rate):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "webhook": rate}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    caches["shared"].clear()  # counts left by other tests of this process


@pytest.fixture
def team(tmp_path, settings):
    webhook_rate(settings, None)  # each test's own requests only; the limit has its test
    settings.CATALOG_SOURCES_DIR = str(tmp_path / "checkouts")
    settings.CATALOG_WEBHOOK_SECRETS = {"TEAM": SECRET}
    repo = Upstream(tmp_path / "upstream")
    repo.write("rules/alpha.yml", ALPHA, "Alpha Tool Run")
    repo.commit("alpha")
    source, _ = add_source("team", repo.url, branch="main", paths=["rules"])
    return source


def github_post(client, body: bytes, secret: str = SECRET, event: str = "push"):
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        URL, body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature, HTTP_X_GITHUB_EVENT=event
    )


PUSH = json.dumps({"ref": "refs/heads/main", "after": "0" * 40}).encode()


def sync_jobs():
    return ImportJob.objects.filter(kind=ImportJob.Kind.SYNC)


def test_a_signed_github_push_queues_one_sync_which_imports(client, team):
    response = github_post(client, PUSH)
    assert response.status_code == 202 and response.json()["queued"] is True
    again = github_post(client, PUSH)  # a burst of pushes: the sync already queued will fetch them all
    assert again.status_code == 202 and again.json() == {
        **response.json(),
        "queued": False,
        "reason": again.json()["reason"],
    }
    assert sync_jobs().count() == 1
    assert not Rule.objects.filter(uuid=ALPHA).exists()  # queued, not run in the request
    assert run_queued_tasks() == 1
    job = sync_jobs().get()
    assert job.status == ImportJob.Status.DONE and "1 created" in job.summary and job.import_run_id
    assert Rule.objects.get(uuid=ALPHA).commit == Source.objects.get(name="team").synced_commit


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64},  # a bad signature
        {"HTTP_X_HUB_SIGNATURE_256": "sha1=whatever"},
        {"HTTP_X_GITLAB_TOKEN": "not-the-secret"},
        {},  # no signature at all
    ],
)
def test_an_unverified_request_is_refused_and_queues_nothing(client, team, headers):
    response = client.post(URL, PUSH, content_type="application/json", **headers)
    assert response.status_code == 403
    assert not sync_jobs().exists()


def test_a_signature_made_with_another_secret_or_over_another_body_is_refused(client, team):
    assert github_post(client, PUSH, secret="guessed").status_code == 403
    signature = "sha256=" + hmac.new(SECRET.encode(), b"{}", hashlib.sha256).hexdigest()
    tampered = client.post(URL, PUSH, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature)
    assert tampered.status_code == 403 and not sync_jobs().exists()


def test_gitlab_token_queues_a_sync(client, team):
    response = client.post(URL, PUSH, content_type="application/json", HTTP_X_GITLAB_TOKEN=SECRET)
    assert response.status_code == 202 and sync_jobs().count() == 1


def test_sources_without_a_secret_or_unknown_are_refused_alike(client, team, settings):
    assert github_post(client, PUSH).status_code == 202
    assert client.post("/api/sources/nope/webhook/", PUSH, content_type="application/json").status_code == 403
    settings.CATALOG_WEBHOOK_SECRETS = {}
    assert github_post(client, PUSH).status_code == 403  # even correctly signed: no secret, no webhook
    assert sync_jobs().count() == 1


def test_a_push_to_another_branch_or_a_ping_queues_nothing(client, team):
    other = json.dumps({"ref": "refs/heads/feature"}).encode()
    assert github_post(client, other).json()["queued"] is False
    ping = github_post(client, b'{"zen": "hi"}', event="ping")
    assert ping.status_code == 200 and ping.json()["queued"] is False
    assert not sync_jobs().exists()


def test_an_oversized_body_is_refused_before_it_is_read(client, team, settings):
    settings.CATALOG_WEBHOOK_MAX_BYTES = 100
    assert github_post(client, b"x" * 101).status_code == 413
    assert not sync_jobs().exists()


def test_webhooks_are_rate_limited_before_the_signature_is_checked(client, team, settings):
    webhook_rate(settings, "3/minute")
    answers = [github_post(client, PUSH, secret="guess").status_code for _ in range(3)]
    refused = github_post(client, PUSH)  # even the right signature: the client is over its rate
    assert answers == [403, 403, 403] and refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert not sync_jobs().exists()


def test_only_post_is_answered(client, team):
    assert client.get(URL).status_code == 405


def test_the_admin_syncs_git_sources_in_the_background(client, team, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    response = client.post(
        "/admin/catalog/source/", {"action": "sync_sources", "_selected_action": [team.pk], "index": 0}
    )
    assert response.status_code == 302 and sync_jobs().count() == 1
    assert run_queued_tasks() == 1 and Rule.objects.filter(uuid=ALPHA).exists()
    confirm = client.get(f"/admin/catalog/source/{team.pk}/reimport/")
    assert b"Sync now" in confirm.content and team.git_url.encode() in confirm.content


def test_a_git_source_added_in_the_admin_is_synced_in_the_background(client, tmp_path, settings, django_user_model):
    settings.CATALOG_SOURCES_DIR = str(tmp_path / "checkouts")
    repo = Upstream(tmp_path / "upstream")
    repo.write("rules/alpha.yml", ALPHA, "Alpha Tool Run")
    repo.commit("alpha")
    settings.CATALOG_IMPORT_ROOTS = [str(tmp_path)]  # a file:// repository must lie where the admin may import
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    form = {"name": "team", "base_url": "", "git_url": repo.url, "branch": "", "git_paths": "rules", "roots": ""}
    response = client.post("/admin/catalog/source/add/", {**form, "sync_interval": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Source.objects.get(name="team").git_paths == ["rules"] and sync_jobs().count() == 1
    assert run_queued_tasks() == 1 and Rule.objects.filter(uuid=ALPHA, source__name="team").exists()
    settings.CATALOG_IMPORT_ROOTS = [str(tmp_path / "elsewhere")]
    refused = client.post("/admin/catalog/source/add/", {**form, "name": "other", "sync_interval": ""})
    assert refused.status_code == 200 and b"outside the folders the admin may import from" in refused.content
