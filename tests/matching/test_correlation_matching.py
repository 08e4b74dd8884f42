"""Correlation rules on event files: match_file's "correlations", match_event's output, the job page.

Imports the specification's example (failed logins followed by a successful login: a temporal_ordered
correlation chaining an event_count one) and a legacy pipe aggregation, then matches JSON-lines files of
Security events.
"""

import io
import json
import textwrap

import pytest
from django.core.management import call_command

from catalog.importing.importer import import_paths
from catalog.matching.engine import forget_compiled, skipped_rules
from catalog.matching.grouping import match_file

RULES = {
    "mr_failed_then_success.yml": """
        title: Multiple Failed Logins Followed by Successful Login
        id: b180ead8-d58f-40b2-ae54-c8940995b9b6
        status: experimental
        correlation:
            type: temporal_ordered
            rules:
                - multiple_failed_login
                - successful_login
            group-by:
                - TargetUserName
            timespan: 10m
        level: high
        ---
        title: Multiple failed logons
        id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
        name: multiple_failed_login
        correlation:
            type: event_count
            rules:
                - failed_login
            group-by:
                - TargetUserName
            timespan: 10m
            condition:
                gte: 10
        ---
        title: Single failed login
        id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
        name: failed_login
        logsource:
            product: windows
            service: security
        detection:
            selection:
                EventID: 4625
            condition: selection
        ---
        title: Successful login
        id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
        name: successful_login
        logsource:
            product: windows
            service: security
        detection:
            selection:
                EventID: 4624
            condition: selection
    """,
    "legacy_spray.yml": """
        title: Password spray from one address
        id: 6c1f6f8e-2f43-4f77-9d0a-3d0c41b0c7a1
        logsource:
            product: windows
            service: security
        detection:
            selection:
                EventID: 4625
            timeframe: 5m
            condition: selection | count(TargetUserName) by IpAddress > 3
        level: medium
    """,
    "legacy_near.yml": """
        title: Near is not read
        id: 0d7c3c4e-9a38-4a0b-8a59-1df0e5d2a2b2
        logsource:
            product: windows
            service: security
        detection:
            first:
                EventID: 4625
            second:
                EventID: 4624
            timeframe: 5m
            condition: first | near second
    """,
}


def security(event_id, second, user="admin", address="10.0.0.9"):
    return {
        "EventID": event_id,
        "Channel": "Security",
        "Provider_Name": "Microsoft-Windows-Security-Auditing",
        "Computer": "dc1",
        "TargetUserName": user,
        "IpAddress": address,
        "TimeCreated": f"2024-05-01T10:{second // 60:02d}:{second % 60:02d}Z",
    }


@pytest.fixture
def correlations(db, tmp_path, settings):
    folder = tmp_path / "rules"
    folder.mkdir()
    for name, text in RULES.items():
        (folder / name).write_text(textwrap.dedent(text))
    report = import_paths([str(folder)], source="correlations")
    assert not report.errors, report.errors
    settings.CATALOG_CORRELATION_SHOWN_EVENTS = 3
    forget_compiled()
    yield tmp_path
    forget_compiled()


def write(path, events):
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return path


OURS = {
    "Multiple failed logons",
    "Multiple Failed Logins Followed by Successful Login",
    "Password spray from one address",
}


def titles(results):
    """The titles of the results of this module's correlations (rules/ has correlations of its own)."""
    return [result["title"] for result in ours(results)]


def ours(results):
    return [result for result in results["correlations"]["results"] if result["title"] in OURS]


def test_fifty_failed_logons_then_a_success_fire_the_chain(correlations):
    events = [security(4625, second) for second in range(50)] + [security(4624, 70)]
    results = match_file(write(correlations / "logons.jsonl", events), "logons.jsonl")
    found = ours(results)
    assert titles(results) == ["Multiple failed logons", "Multiple Failed Logins Followed by Successful Login"]
    burst = found[0]
    assert burst["event_count"] == 50 and burst["group"] == [{"field": "TargetUserName", "value": "admin"}]
    assert [e["number"] for e in burst["events"]] == [1, 2, 3] and burst["events_left_out"] == 47
    shown = burst["events"][0]["hits"][0]
    assert shown["rule"]["title"] == "Single failed login" and shown["explanation"]["fired"] is True
    assert burst["window"] == {"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T10:00:49Z"}
    # the base rules still fire on their own, as rules of the catalog
    assert {"Single failed login", "Successful login"} <= {g["title"] for g in results["rules"]}


def test_nine_failures_fire_nothing_but_the_legacy_spray_counts_users(correlations):
    events = [security(4625, second, user=f"user{second}") for second in range(9)] + [security(4624, 70)]
    results = match_file(write(correlations / "nine.jsonl", events), "nine.jsonl")
    assert titles(results) == ["Password spray from one address"]
    spray = ours(results)[0]
    assert spray["legacy"].startswith("| count(TargetUserName)") and spray["value"] == 4  # > 3: fired on the 4th
    assert spray["group"] == [{"field": "IpAddress", "value": "10.0.0.9"}]
    undecidable = results["correlations"]["undecidable"]
    assert undecidable == []  # `near` is not a correlation the evaluator was given: it is a skipped rule
    assert any("near" in reason for rule, reason in skipped_rules() if rule.title == "Near is not read")


def test_three_users_from_one_address_is_no_spray(correlations):
    events = [security(4625, second, user=f"user{second % 3}") for second in range(9)]
    results = match_file(write(correlations / "three.jsonl", events), "three.jsonl")
    assert titles(results) == []


def test_match_event_prints_correlations(correlations):
    path = write(correlations / "logons.jsonl", [security(4625, s) for s in range(12)] + [security(4624, 30)])
    text, lines = io.StringIO(), io.StringIO()
    call_command("match_event", str(path), stdout=text, stderr=io.StringIO())
    assert "correlation  Multiple failed logons  TargetUserName=admin  12 events" in text.getvalue()
    call_command("match_event", str(path), "--format", "jsonl", stdout=lines, stderr=io.StringIO())
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    fired = [r["correlation"] for r in records if "correlation" in r and r["correlation"]["title"] in OURS]
    assert [f["title"] for f in fired] == [
        "Multiple failed logons",
        "Multiple Failed Logins Followed by Successful Login",
    ]
    assert fired[0]["events"][0]["number"] == 1


def test_job_page_and_api_show_the_correlations(correlations, client):
    from catalog.models.matching_jobs import MatchJob

    events = [security(4625, second) for second in range(12)] + [security(4624, 30)]
    results = match_file(write(correlations / "logons.jsonl", events), "logons.jsonl")
    job = MatchJob.objects.create(file_name="logons.jsonl", status=MatchJob.Status.DONE, results=results)
    page = client.get(f"/match/jobs/{job.token}/").content.decode()
    assert 'id="correlations-heading"' in page
    assert "Multiple Failed Logins Followed by Successful Login" in page and "TargetUserName=admin" in page
    answer = client.get(f"/api/match/jobs/{job.token}/").json()
    assert "Multiple failed logons" in titles(answer["results"])
