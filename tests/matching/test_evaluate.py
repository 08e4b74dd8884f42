"""Rules evaluated from what the catalog stores, against SigmaHQ's real logged events.

regression_data holds, for 164 rules, a real event (rendered from EVTX to JSON) that the rule must
trigger. Each rule is rebuilt from its stored condition tree and predicates, not from its file.
"""

import pytest
import yaml

from catalog.core.sigma.evaluate import compile_rule, flatten_event, load_events, matches
from catalog.matching.engine import match_events
from catalog.matching.explaining import explain_rules
from catalog.models import Rule
from tests.constants import CORPUS
from tests.sigma_helpers import parse_one

REGRESSION = CORPUS / "regression_data"


def regression_cases():
    if not REGRESSION.is_dir():  # one case, which the `corpus` fixture skips (or fails under CI) with the reason
        return [pytest.param(None, None, id="corpus-missing")]
    cases = []
    for info in sorted(REGRESSION.rglob("info.yml")):
        meta = yaml.safe_load(info.read_text(encoding="utf-8"))
        for rule in meta.get("rule_metadata", []):
            for event_file in sorted(info.parent.glob("*.json")):
                cases.append(pytest.param(rule["id"], event_file, id=f"{info.parent.name}"))
    return cases


def compiled_from_parse(rule):
    predicates = [(s.name, p.group, p.field, p.modifiers, p.values) for s in rule.stages[1:] for p in s.predicates]
    return compile_rule(rule.condition_tree, predicates)


def rule_from_db(uuid):
    from catalog.matching.engine import compiled_rule

    return compiled_rule(Rule.objects.get(uuid=uuid))


@pytest.mark.django_db
@pytest.mark.parametrize("rule_id, event_file", regression_cases())
def test_every_regression_event_fires_its_rule_with_an_explanation(corpus, corpus_matcher, rule_id, event_file):
    """Each SigmaHQ regression case, once: its rule as stored fires on its events, so does the catalog's matching
    (index, log sources), and the explanations agree with the matcher and name the predicates that matched."""
    events = [flatten_event(e) for e in load_events(event_file.read_text(encoding="utf-8"))]
    assert events and any(matches(rule_from_db(rule_id), event) for event in events), (
        f"{event_file.name} should trigger {rule_id}"
    )
    rule = Rule.objects.get(uuid=rule_id)
    results = match_events(events, None)
    fired = [event for event, result in zip(events, results, strict=True) if rule in result.rules]
    assert fired, f"the catalog's matching should find {rule_id} in {event_file.name}"
    for event, result in zip(events, results, strict=True):
        explained = explain_rules(list(result.rules) + [rule], event, result.via)  # read as the matcher read it
        for hit in result.rules:  # every fired rule's explanation says it fired
            assert explained[hit.pk]["fired"] is True, hit.title
        assert explained[rule.pk]["fired"] is (rule in result.rules)  # and the chosen rule agrees either way
    explanation = explain_rules([rule], fired[0])[rule.pk]
    matched = [
        p
        for block in explanation["blocks"]
        if block["result"] is True
        for group in block["groups"]
        for p in group["predicates"]
        if p["result"] is True
    ]
    assert matched, "the explanation names the predicates that matched"
    for predicate in matched:  # each names a field of the event (or a keyword found in one), or checks absence
        assert predicate["event_field"] in fired[0] or predicate["missing"] or predicate["field"] == ""


def test_there_are_regression_cases(corpus_dir):
    assert len(regression_cases()) >= 150


def event_for(**fields):
    return {"EventID": 1, **fields}


@pytest.mark.parametrize(
    "detection, event, expected",
    [
        ("sel:\n  Image|endswith: '\\net.exe'\ncondition: sel", {"Image": "C:\\Windows\\System32\\NET.EXE"}, True),
        ("sel:\n  Image|endswith: '\\net.exe'\ncondition: sel", {"Image": "C:\\net.exe.bak"}, False),
        ("sel:\n  Image|endswith|cased: '\\net.exe'\ncondition: sel", {"Image": "C:\\NET.EXE"}, False),
        ("sel:\n  CommandLine|contains|all: [' -a ', ' -b ']\ncondition: sel", {"CommandLine": "x -a  -b y"}, True),
        ("sel:\n  CommandLine|contains|all: [' -a ', ' -b ']\ncondition: sel", {"CommandLine": "x -a y"}, False),
        (
            "sel:\n  CommandLine|windash|contains: ' -enc '\ncondition: sel",
            {"CommandLine": "powershell /enc AAA"},
            True,
        ),
        ("sel:\n  CommandLine|base64offset|contains: 'IEX'\ncondition: sel", {"CommandLine": "x SUVYIChOZXc= y"}, True),
        ("sel:\n  A: 'foo\\*'\ncondition: sel", {"A": "foo*"}, True),
        ("sel:\n  A: 'foo\\*'\ncondition: sel", {"A": "foobar"}, False),
        ("sel:\n  A: 'f?o'\ncondition: sel", {"A": "fxo"}, True),
        ("sel:\n  A|re|i: '^inv.*mimi'\ncondition: sel", {"A": "Invoke-Mimikatz"}, True),
        ("sel:\n  Ip|cidr: '10.0.0.0/8'\ncondition: sel", {"Ip": "10.1.2.3"}, True),
        ("sel:\n  Ip|cidr: '10.0.0.0/8'\ncondition: sel", {"Ip": "192.168.1.1"}, False),
        ("sel:\n  N|gte: 5\ncondition: sel", {"N": "7"}, True),
        ("sel:\n  N|lt: 5\ncondition: sel", {"N": 7}, False),
        ("sel:\n  UA: null\ncondition: sel", {"Other": 1}, True),
        # null is a field the event lacks (or holds as JSON null), '' an empty one: the spec names them apart
        ("sel:\n  UA: null\ncondition: sel", {"UA": None}, True),
        ("sel:\n  UA: null\ncondition: sel", {"UA": ""}, False),
        ("sel:\n  UA: ''\ncondition: sel", {"UA": ""}, True),
        ("sel:\n  UA: ''\ncondition: sel", {"UA": None}, False),
        ("sel:\n  UA: ''\ncondition: sel", {"Other": 1}, False),
        ("sel:\n  UA|exists: true\ncondition: sel", {"UA": ""}, True),
        ("sel:\n  UA|exists: true\ncondition: sel", {"UA": None}, False),  # exists is not null
        ("sel:\n  UA|exists: false\ncondition: sel", {"UA": None}, True),
        ("sel:\n  UA|exists: true\ncondition: sel", {"UA": "x"}, True),
        ("sel:\n  A|fieldref: B\ncondition: sel", {"A": "Admin", "B": "admin"}, True),
        ("sel:\n  A|neq: 'x'\ncondition: sel", {"A": "y"}, True),
        ("sel:\n  A|neq: 'x'\ncondition: sel", {"A": "X"}, False),
        ("keywords:\n  - 'mimikatz'\ncondition: keywords", {"Msg": "ran MimiKatz today"}, True),
        ("sel:\n  - A: 1\n    B: 2\n  - C: 3\ncondition: sel", {"A": 1, "B": 9, "C": 3}, True),
        ("sel:\n  - A: 1\n    B: 2\n  - C: 3\ncondition: sel", {"A": 1, "B": 9}, False),
        ("sel_a:\n  A: 1\nsel_b:\n  B: 2\nfilter:\n  C: 3\ncondition: 1 of sel_* and not filter", {"B": 2}, True),
        (
            "sel_a:\n  A: 1\nsel_b:\n  B: 2\nfilter:\n  C: 3\ncondition: 1 of sel_* and not filter",
            {"B": 2, "C": 3},
            False,
        ),
        ("sel:\n  U|expand: '%admins%'\ncondition: sel", {"U": "%admins%"}, False),
    ],
)
def test_sigma_semantics(detection, event, expected):
    assert matches(compiled_from_parse(parse_one(detection)), event) is expected


def test_windows_events_are_flattened_with_system_fields():
    event = flatten_event(
        {
            "Event": {
                "System": {
                    "EventID": 4688,
                    "Channel": "Security",
                    "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
                },
                "EventData": {"NewProcessName": "C:\\x.exe"},
            }
        }
    )
    assert event == {
        "EventID": 4688,
        "Channel": "Security",
        "Provider_Name": "Microsoft-Windows-Security-Auditing",
        "NewProcessName": "C:\\x.exe",
    }


SYSMON_EVENT = (
    REGRESSION
    / "rules-threat-hunting/windows/image_load/image_load_win_werfaultsecure_dbgcore_dbghelp_load"
    / "8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b.json"
)
SYSMON_RULE = "8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b"


@pytest.mark.django_db
def test_catalog_matching_finds_the_rule_and_respects_log_sources(corpus):
    from catalog.matching.engine import matching_rules

    event = flatten_event(load_events(SYSMON_EVENT.read_text(encoding="utf-8"))[0])
    found = {str(rule.uuid) for rule in matching_rules(event)}
    assert SYSMON_RULE in found
    # Keyword and `not filter` rules of other products (Cisco, Azure, Zeek) would match anything: not applied.
    assert all(r.product == "windows" for r in matching_rules(event))
    process_creation = dict(event, EventID=1)
    assert SYSMON_RULE not in {str(r.uuid) for r in matching_rules(process_creation)}  # an image_load rule


@pytest.mark.django_db
def test_match_page_and_api(corpus, client):
    text = SYSMON_EVENT.read_text(encoding="utf-8")
    page = client.get("/match/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    response = client.post("/match/", {"event": text})
    assert response.status_code == 200
    assert f"/rules/{SYSMON_RULE}/".encode() in response.content
    bad = client.post("/match/", {"event": "{not json"})
    assert bad.status_code == 400 and b"Not JSON: line 1" in bad.content
    api = client.post("/api/match/", data=text, content_type="application/json")
    assert api.status_code == 200
    assert SYSMON_RULE in [rule["id"] for rule in api.json()["events"][0]["rules"]]
    assert client.post("/api/match/", data="[]", content_type="application/json").status_code == 400


@pytest.mark.django_db
def test_match_event_command(corpus, capsys):
    from django.core.management import call_command

    call_command("match_event", str(SYSMON_EVENT))
    out = capsys.readouterr().out
    assert SYSMON_RULE in out and "event 1:" in out
