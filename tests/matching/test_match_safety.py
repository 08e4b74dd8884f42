"""Issue 13 (safety, log sources): regexes RE2 refuses run on a time budget; events run against the
rules of their log source only, picked or inferred (and the answer says which, and why)."""

import json
import uuid

import pytest

from catalog.importing.importer import import_paths
from catalog.matching.logsources import LogSource, infer, picked

RULE = """title: {title}
id: {id}
status: test
description: written for tests/matching/test_match_safety.py
author: tests
date: 2025-01-01
logsource:
{logsource}
detection:
{detection}
level: high
"""
LINUX = "    product: linux\n    category: process_creation"


@pytest.fixture
def rules(db, tmp_path):
    """Import small rules: title -> (logsource YAML, detection YAML), both indented by 4; title -> uuid."""
    from catalog.matching.engine import forget_compiled

    def make(**rules: tuple[str, str]) -> dict[str, str]:
        folder = tmp_path / "safety"
        folder.mkdir(exist_ok=True)
        ids = {}
        for number, (title, (logsource, detection)) in enumerate(rules.items()):
            ids[title] = str(uuid.uuid4())
            text = RULE.format(title=title, id=ids[title], logsource=logsource, detection=detection)
            (folder / f"rule_{number}.yml").write_text(text, encoding="utf-8")
        report = import_paths([str(folder)], source="safety")
        assert not report.errors, [str(p) for p in report.errors]
        forget_compiled()
        return ids

    yield make
    forget_compiled()


def post(client, events, query=""):
    return client.post(f"/api/match/{query}", data=json.dumps(events), content_type="application/json")


def titles(response) -> list[set[str]]:
    return [{rule["title"] for rule in event["rules"]} for event in response.json()["events"]]


# --- regexes RE2 refuses: the backtracking fallback, on a budget -----------------------------------


CATASTROPHIC = "(a|a)+\\1$"  # a backreference (RE2 refuses it) and exponential backtracking on 'aaa...!'


@pytest.mark.django_db
def test_a_redos_rule_is_cut_off_by_the_regex_budget_and_says_so(client, rules, settings):
    rules(Redos=(LINUX, f"    selection:\n        CommandLine|re: '{CATASTROPHIC}'\n    condition: selection"))
    assert settings.CATALOG_MATCH_REGEX_SECONDS < 1  # the whole request's backtracking time
    crafted = {"CommandLine": "a" * 40 + "!"}  # about 2^40 steps for a backtracking engine
    response = post(client, [crafted] * 3)
    assert response.status_code == 200
    data = response.json()
    assert data["complete"] is False and titles(response) == [set(), set(), set()]
    # every event says which pattern was cut off: the budget is shared, so the later ones got none of it
    assert [event["cut_off"] for event in data["events"]] == [[CATASTROPHIC]] * 3
    assert "budget (0.25 s) ran out" in data["partial"] and "cut off" in data["partial"]
    # ...and within the budget the fallback decides
    assert titles(post(client, [{"CommandLine": "aaaa"}, {"CommandLine": "b"}])) == [{"Redos"}, set()]
    page = client.post("/match/", {"event": json.dumps(crafted)})
    assert page.status_code == 200 and b"were cut off" in page.content


@pytest.mark.django_db
def test_lookaround_runs_on_the_fallback(client, rules):
    rules(Behind=(LINUX, "    selection:\n        CommandLine|re: '(?<=-)enc\\b'\n    condition: selection"))
    response = post(client, [{"CommandLine": "powershell -enc AAA"}, {"CommandLine": "powershell enc AAA"}])
    assert titles(response) == [{"Behind"}, set()] and response.json()["complete"] is True


def test_a_fallback_search_past_the_budget_is_unknown_not_false():
    from catalog.core.sigma.evaluate import matches
    from catalog.core.sigma.values import EventView, RegexBudget
    from tests.matching.test_evaluate import compiled_from_parse
    from tests.sigma_helpers import parse_one

    rule = compiled_from_parse(parse_one(f"sel:\n  A|re: '{CATASTROPHIC}'\ncondition: not sel"))
    spent = RegexBudget(0)
    assert matches(rule, EventView({"A": "b"}, regexes=spent)) is False  # `not unknown` does not fire
    assert spent.cut_off == [CATASTROPHIC]
    assert matches(rule, EventView({"A": "b"}, regexes=RegexBudget(1))) is True  # decided: no match


# --- log sources ------------------------------------------------------------------------------------


def test_a_windows_event_is_inferred_from_its_channel_and_event_id():
    sysmon = infer({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\x.exe"})
    assert (sysmon.product, sysmon.category) == ("windows", "process_creation")
    assert sysmon.shown.startswith("inferred: windows / process_creation")
    assert "(from Channel=Microsoft-Windows-Sysmon/Operational, EventID=1)" in sysmon.shown
    security = infer({"Channel": "Security", "EventID": "4624"})
    assert (security.product, security.service) == ("windows", "security")


@pytest.mark.parametrize(
    "event, product, category, service, why",
    [
        ({"eventSource": "s3", "eventName": "Get", "awsRegion": "x"}, "aws", "", "cloudtrail", "eventName"),
        ({"CommandLine": "whoami", "Image": "C:\\cmd.exe"}, "windows", "process_creation", "", "a Windows path"),
        ({"CommandLine": "id", "Image": "/usr/bin/id"}, "linux", "process_creation", "", "a Unix path"),
        ({"CommandLine": "x"}, "", "process_creation", "", "CommandLine"),
        ({"cs-method": "GET", "cs-uri-query": "/?q=1"}, "", "webserver", "", "cs-uri-query"),
        ({"A": 1}, "", "", "", "pick the log source"),
    ],
)  # fmt: skip
def test_flat_events_are_inferred_from_their_fields(event, product, category, service, why):
    source = infer(event)
    assert (source.product, source.category, source.service) == (product, category, service)
    assert why in source.reason and not source.picked


def test_which_rules_a_log_source_admits():
    event = LogSource("windows", "process_creation")
    assert event.admits("windows", "process_creation", "")
    assert not event.admits("windows", "", "security")  # another log of Windows
    assert not event.admits("linux", "process_creation", "")
    assert event.admits("windows", "", "")
    assert LogSource("", "process_creation").admits("macos", "process_creation", "")
    assert LogSource("aws", "", "cloudtrail").admits("aws", "", "cloudtrail")
    assert not LogSource().admits("aws", "", "cloudtrail")  # unknown: nothing runs
    assert picked(" Windows ", "", "") == LogSource("windows", reason="picked", picked=True)
    assert picked("", "", "") is None


@pytest.mark.django_db
def test_rules_only_run_against_events_of_their_log_source(client, rules):
    rules(
        OnlyNegation=(LINUX, "    filter:\n        User: 'root'\n    condition: not filter"),
        Cloud=(
            "    product: aws\n    service: cloudtrail",
            "    sel:\n        eventName: 'GetObject'\n    condition: sel",
        ),
    )
    flat = {"User": "bob", "Note": "a flat event from somewhere"}
    unknown = post(client, [flat])
    assert titles(unknown) == [set()]
    assert unknown.json()["events"][0]["logsource"]["how"] == "unknown"
    chosen = post(client, [flat], "?product=linux&category=process_creation")
    assert titles(chosen) == [{"OnlyNegation"}]
    assert chosen.json()["events"][0]["logsource"] == {
        "product": "linux",
        "category": "process_creation",
        "service": "",
        "how": "picked",
        "reason": "picked",
    }
    aws = {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "eu-west-1", "User": "bob"}
    inferred = post(client, [aws])
    assert titles(inferred) == [{"Cloud"}]  # not OnlyNegation: an AWS event is not a Linux process creation
    source = inferred.json()["events"][0]["logsource"]
    assert (source["product"], source["service"], source["how"]) == ("aws", "cloudtrail", "inferred")
    assert "eventSource, eventName, awsRegion" in source["reason"]
    page = client.post("/match/", {"event": json.dumps(flat), "product": "linux", "category": "process_creation"})
    assert page.status_code == 200 and b"picked: linux / process_creation" in page.content
    page = client.post("/match/", {"event": json.dumps(aws)})
    assert b"inferred: aws / cloudtrail (from the fields eventSource, eventName, awsRegion)" in page.content
