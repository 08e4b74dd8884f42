"""Issue 21: which value a rule's field reads, and null versus '' — on SigmaHQ's own rules, through /match/ and files.

"Important Windows Eventlog Cleared" (100ef69e) and "Eventlog Cleared" (a62b37e0) read `Channel` on a System-log
event 104 as the log that was cleared (UserData LogFileCleared): the first fires for the core logs it names, the
second for every other (before, the record's `Channel: System` made the first fire on every clearing and the second
on none). "Uncommon New Firewall Rule Added" (cde0a575) filters `ApplicationPath: null` (no path at all) and, for
svchost and dllhost, `ApplicationPath: ''`: an allow-any rule added with mmc.exe and an empty path fires it.

The events are tests/matching/events/ (see its README), pasted as JSON and read as a file as /match/ reads an upload,
matched with the whole SigmaHQ catalog; pySigma's backends are checked to convert the two filters apart as the
matcher reads them.
"""

import json
from pathlib import Path

import pytest

from catalog.core.sigma.event_files import FileLimits, read_events
from catalog.core.sigma.logged_events import EventLimits
from catalog.matching.engine import match_events
from catalog.matching.grouping import match_file

EVENTS = Path(__file__).resolve().parent / "events"
RULE_FILES = {
    "100ef69e-3327-481c-8e5c-6d80d9507556": "windows/builtin/system/microsoft_windows_eventlog/"
    "win_system_susp_eventlog_cleared.yml",  # Important Windows Eventlog Cleared
    "a62b37e0-45d3-48d9-a517-90c1a1b0186b": "windows/builtin/system/microsoft_windows_eventlog/"
    "win_system_eventlog_cleared.yml",  # Eventlog Cleared
    "cde0a575-7d3d-4a49-9817-b8004a7bf105": "windows/builtin/firewall_as/win_firewall_as_add_rule.yml",
}
IMPORTANT, CLEARED, FIREWALL = RULE_FILES
# event file -> the rules of RULE_FILES it fires
EXPECTED = {
    "eventlog_cleared_104_system.json": {IMPORTANT},
    "eventlog_cleared_104_taskscheduler.json": {CLEARED},
    "ecs_eventlog_cleared_104_system.json": {IMPORTANT},
    "ecs_eventlog_cleared_104_taskscheduler.json": {CLEARED},
    "firewall_2004_any_rule_by_mmc.json": {FIREWALL},
    "firewall_2004_svchost_no_path.json": set(),  # filter_optional_no_path: svchost, ApplicationPath ''
    "firewall_2004_without_application_path.json": set(),  # filter_main_null: no ApplicationPath
}


@pytest.fixture
def rules(corpus, corpus_matcher, settings):
    """The whole SigmaHQ catalog (the session's import), the three rules among it."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "match": None}}
    assert corpus.filter(uuid__in=list(RULE_FILES)).count() == len(RULE_FILES)
    # matching in Python over the whole corpus; the example-rule tests run the same API on both databases
    yield


def pasted(client, names: list[str]) -> list[dict]:
    events = [json.loads((EVENTS / name).read_text(encoding="utf-8")) for name in names]
    response = client.post("/api/match/", json.dumps(events), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["events"]


def fired(answer: dict) -> set[str]:
    return {rule["id"] for rule in answer["rules"]} & set(RULE_FILES)


def predicate(explanation: dict, block: str) -> dict:
    (found,) = [b for b in explanation["blocks"] if b["name"] == block]
    return found["groups"][0]["predicates"][0] | {"block_result": found["result"]}


@pytest.mark.one_database  # whole-corpus matching in Python (see `rules`)
def test_pasted_events_fire_the_rules_their_fields_satisfy(client, rules):
    answers = dict(zip(EXPECTED, pasted(client, list(EXPECTED)), strict=True))
    assert {name: fired(answer) for name, answer in answers.items()} == EXPECTED
    for name in EXPECTED:  # the log source is the record's (the log the event was written to)
        expected = "firewall-as" if name.startswith("firewall") else "system"
        assert answers[name]["logsource"]["service"] == expected, name


@pytest.mark.one_database  # whole-corpus matching in Python (see `rules`)
def test_the_explanation_reads_the_cleared_log(client, rules):
    (answer,) = pasted(client, ["eventlog_cleared_104_taskscheduler.json"])
    (rule,) = [r for r in answer["rules"] if r["id"] == CLEARED]
    covered = predicate(rule["explanation"], "filter_main_covered")
    assert (
        covered["event_field"] == "Channel" and covered["event_value"] == "Microsoft-Windows-TaskScheduler/Operational"
    )
    assert covered["block_result"] is False
    assert answer["logsource"]["reason"] == "from Channel=System, EventID=104"  # the log it was written to


@pytest.mark.one_database  # whole-corpus matching in Python (see `rules`)
def test_an_empty_path_is_not_null(client, rules):
    (answer,) = pasted(client, ["firewall_2004_any_rule_by_mmc.json"])
    (rule,) = [r for r in answer["rules"] if r["id"] == FIREWALL]
    null = predicate(rule["explanation"], "filter_main_null")
    assert (null["event_field"], null["event_value"], null["result"]) == ("ApplicationPath", "", False)


@pytest.mark.one_database  # whole-corpus matching in Python (see `rules`)
def test_a_file_of_these_events_fires_as_they_do_pasted(rules, tmp_path):
    """One JSON-lines file, read as an upload is (catalog.core.sigma.event_files, catalog.matching.grouping)."""
    path = tmp_path / "events.jsonl"
    path.write_text(
        "".join(json.dumps(json.loads((EVENTS / name).read_text(encoding="utf-8"))) + "\n" for name in EXPECTED),
        encoding="utf-8",
    )
    limits = FileLimits(10**7, 100, EventLimits())
    flats = [event.flat for event in read_events(path, path.name, limits)]
    results = match_events(flats, None)
    assert [{str(r.uuid) for r in result.rules} & set(RULE_FILES) for result in results] == list(EXPECTED.values())
    summary = match_file(path, path.name, limits)
    counts = {rule["id"]: rule["count"] for rule in summary["rules"] if rule["id"] in RULE_FILES}
    assert counts == {IMPORTANT: 2, CLEARED: 2, FIREWALL: 1}


@pytest.mark.parametrize(
    "target, null, empty",
    [
        ("splunk", "NOT ApplicationPath=*", 'ApplicationPath=""'),
        ("lucene", "NOT _exists_:winlog.event_data.ApplicationPath", 'winlog.event_data.ApplicationPath:""'),
        ("eql", "?winlog.event_data.ApplicationPath == null", 'winlog.event_data.ApplicationPath==""'),
    ],
)
def test_the_backends_convert_null_and_empty_apart_as_matching_reads_them(db, client, corpus_dir, target, null, empty):
    """`null`: the field is absent (Splunk `NOT f=*`, Lucene `NOT _exists_`), which an empty value is not in
    Elasticsearch; `''`: an empty value. The matcher: tests/matching/test_evaluate.py's semantics and above."""
    text = (corpus_dir / "rules" / RULE_FILES[FIREWALL]).read_text(encoding="utf-8")
    response = client.post(
        "/api/convert/", json.dumps({"yaml": text, "target": target}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    query = response.json()["query"]
    assert null in query and empty in query
