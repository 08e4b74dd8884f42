"""Messy third-party rules never break the catalog (hardening issue, items 15-19).

Each case was seen importing real repositories (one author's Security-log collection, a vendor's
rules, rules converted from another tool's format) and comparing matches with an independent engine:
- a condition that cannot be parsed (`OR`, `> 7`, an undefined block) is an error of its file, and
  matching, which used to fail on every event once such a rule was stored, skips whatever it cannot use;
- `detection.timeframe` is no detection block (it made `15m` a value the rule "looks for");
- a legacy pipe aggregation (`| count() by x > 30`) is not decidable on single events: never fired;
- SigmaHQ's unnamed `Data` (the event data as a whole) is what the event flattener gives;
- a repository's tool configuration beside its rules is skipped with a warning, not a failed import.
The rules are small ones written for the test, but for the SigmaHQ rule read from the corpus snapshot.
"""

import json
import shutil

import pytest
from django.core.management import call_command
from django.db.models import JSONField, Value

from catalog.core.sigma.decidable import NO_CONDITION
from catalog.core.sigma.logged_events import flatten_event
from catalog.core.sigma.parsing import parse_file
from catalog.importing.importer import import_paths
from catalog.matching import explaining
from catalog.matching.engine import forget_compiled, match_events, skipped_rules
from catalog.models import Indicator, Rule
from tests.constants import CORPUS

GOOD_ID = "0d0a1b7e-7d7d-4c4c-9a9a-0000000c0001"
AGGREGATION_ID = "0d0a1b7e-7d7d-4c4c-9a9a-0000000c0002"
TIMEFRAME_ID = "0d0a1b7e-7d7d-4c4c-9a9a-0000000c0003"
MSMPENG_ID = "545a5da6-f103-4919-a519-e9aec1026ee4"  # SigmaHQ: Microsoft Malware Protection Engine Crash
MSMPENG_RULE = CORPUS / "rules/windows/builtin/application/application_error/win_application_error_msmpeng_crash.yml"

RULE = """title: {title}
id: {id}
status: experimental
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 5145
        ShareName|contains: 'IPC$'
    other:
        RelativeTargetName: 'srvsvc'
{extra}    condition: {condition}
level: medium
"""
BAD_CONDITIONS = {
    "upper_or.yml": "selection OR other",
    "comparison.yml": "selection > 7",
    "undefined_block.yml": "selection and missing_block",
}
CONDITION_LINE = 13  # of RULE, where every problem with the condition is reported
MAPPING = """# field mapping of the repository's own tool, not a rule
fieldmappings:
    EventID: event.code
    ShareName: winlog.event_data.ShareName
"""
SHARE_EVENT = {
    "EventID": 5145,
    "Channel": "Security",
    "Provider_Name": "Microsoft-Windows-Security-Auditing",
    "ShareName": "\\\\*\\IPC$",
    "RelativeTargetName": "lsarpc",
    "IpAddress": "198.51.100.20",
}


def rule_text(title, rule_id, condition, extra=""):
    return RULE.format(title=title, id=rule_id, condition=condition, extra=extra)


@pytest.fixture
def messy(tmp_path):
    """A repository with good rules, hostile ones and a tool configuration, as found in the wild."""
    folder = tmp_path / "messy"
    folder.mkdir()
    (folder / "good.yml").write_text(rule_text("Good share access", GOOD_ID, "selection"))
    aggregation = "selection | count(ShareName) by src_address > 30"
    (folder / "aggregation.yml").write_text(rule_text("Share enumeration burst", AGGREGATION_ID, aggregation))
    timeframe = "    timeframe: 15m\n"
    (folder / "timeframe.yml").write_text(rule_text("Share access in a window", TIMEFRAME_ID, "selection", timeframe))
    for number, (name, condition) in enumerate(BAD_CONDITIONS.items(), start=10):
        rule_id = f"0d0a1b7e-7d7d-4c4c-9a9a-0000000c00{number}"
        (folder / name).write_text(rule_text(f"Hostile {name}", rule_id, condition))
    (folder / "sigma-mapping.yaml").write_text(MAPPING)
    shutil.copy(MSMPENG_RULE, folder / "msmpeng.yml")
    return folder


@pytest.fixture
def imported(db, messy, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "match": None}}
    settings.CATALOG_MATCH_JOB_DIR = str(messy.parent / "jobs")
    forget_compiled()
    report = import_paths([str(messy)], source="messy")
    yield report
    forget_compiled()


def skip_reasons() -> dict[str, str]:
    return {str(rule.uuid): reason for rule, reason in skipped_rules()}


def fired(event, **options) -> set[str]:
    [result] = match_events([event], None, **options)
    return {str(rule.uuid) for rule in result.rules}


# --- 15: a condition that cannot be parsed is an error of its file; matching never fails -------------------


@pytest.mark.parametrize("name", sorted(BAD_CONDITIONS))
def test_a_condition_that_cannot_be_parsed_is_an_error_naming_file_and_line(name):
    condition = BAD_CONDITIONS[name]
    rules, problems = parse_file(rule_text("Hostile", GOOD_ID, condition).encode(), f"vendor/{name}")
    assert rules == []
    [problem] = problems
    assert (problem.path, problem.line, problem.severity) == (f"vendor/{name}", CONDITION_LINE, "error")
    assert f"condition '{condition}' cannot be parsed" in problem.message


def test_hostile_rules_are_reported_and_the_good_ones_imported(imported):
    errors = {problem.path.rsplit("/", 1)[-1]: problem for problem in imported.errors}
    assert set(errors) == set(BAD_CONDITIONS)
    assert all(problem.line == CONDITION_LINE and "cannot be parsed" in problem.message for problem in errors.values())
    stored = set(Rule.objects.filter(source__name="messy").values_list("uuid", flat=True))
    assert {str(uuid) for uuid in stored} == {GOOD_ID, AGGREGATION_ID, TIMEFRAME_ID, MSMPENG_ID}
    assert imported.not_matchable == 1  # the aggregation (test_aggregation_*)


def test_match_event_command_works_next_to_hostile_rules(imported, tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(SHARE_EVENT) + "\n")
    call_command("match_event", str(events), "--format", "jsonl")  # also explains: explaining's own compile
    out, err = capsys.readouterr()
    hits = {json.loads(line)["rule"]["id"] for line in out.splitlines() if line.strip()}
    assert GOOD_ID in hits and TIMEFRAME_ID in hits
    assert AGGREGATION_ID not in hits
    assert "not decidable on single events" in err and AGGREGATION_ID in err


def test_api_match_works_next_to_hostile_rules(imported, client):
    response = client.post("/api/match/", json.dumps([SHARE_EVENT]), content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    ids = {rule["id"] for rule in response.json()["events"][0]["rules"]}
    assert GOOD_ID in ids and AGGREGATION_ID not in ids


def store_no_condition(rule_id: str, json_null: bool) -> None:
    """A rule as an import before this fix stored it: no condition tree (SQL NULL, or JSON null)."""
    value = Value(None, output_field=JSONField()) if json_null else None
    Rule.objects.filter(uuid=rule_id).update(condition_tree=value)
    stored_as_sql_null = Rule.objects.filter(uuid=rule_id, condition_tree__isnull=True).exists()
    assert stored_as_sql_null is not json_null  # the two ways a missing tree can be stored
    forget_compiled()


@pytest.mark.parametrize("json_null", [True, False], ids=["json-null", "sql-null"])
def test_rules_stored_without_a_condition_are_skipped_not_fatal(imported, client, json_null):
    store_no_condition(GOOD_ID, json_null)
    assert TIMEFRAME_ID in fired(SHARE_EVENT) and GOOD_ID not in fired(SHARE_EVENT)
    response = client.post("/api/match/", json.dumps([SHARE_EVENT]), content_type="application/json")
    assert response.status_code == 200
    assert skip_reasons()[GOOD_ID] == NO_CONDITION
    good = Rule.objects.get(uuid=GOOD_ID)
    assert explaining.explain_rules([good], flatten_event(SHARE_EVENT)) == {}
    page = client.get(f"/rules/{GOOD_ID}/").content.decode()
    assert "Event matching skips this rule" in page and "no usable condition is stored" in page
    assert client.get(f"/api/rules/{GOOD_ID}/").json()["matching_skipped"] == NO_CONDITION


def test_why_not_a_skipped_rule_is_answered(imported, client):
    store_no_condition(GOOD_ID, json_null=True)
    response = client.post(f"/api/match/?why_not={GOOD_ID}", json.dumps([SHARE_EVENT]), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["events"][0]["why_not"]["explanation"] is None


def test_a_rule_that_cannot_be_rebuilt_is_skipped_with_its_reason(imported, client):
    """Found only when matching compiles it (here: a stored modifier pySigma does not know)."""
    good = Rule.objects.get(uuid=GOOD_ID)
    good.stages.get(name="selection").predicates.filter(field="ShareName").update(modifiers=["nosuchmodifier"])
    forget_compiled()
    assert GOOD_ID not in fired(SHARE_EVENT) and TIMEFRAME_ID in fired(SHARE_EVENT)
    reason = skip_reasons()[GOOD_ID]
    assert "cannot be rebuilt" in reason and "nosuchmodifier" in reason
    assert "nosuchmodifier" in client.get(f"/api/rules/{GOOD_ID}/").json()["matching_skipped"]


def test_a_rule_matching_runs_has_no_skip_reason(imported, client):
    assert client.get(f"/api/rules/{GOOD_ID}/").json()["matching_skipped"] == ""
    assert "Event matching skips this rule" not in client.get(f"/rules/{GOOD_ID}/").content.decode()


# --- 16: detection.timeframe is no detection block ----------------------------------------------------------


def test_timeframe_is_kept_as_metadata_not_a_block():
    text = rule_text("Window", TIMEFRAME_ID, "selection", "    timeframe: 15m\n")
    [rule], problems = parse_file(text.encode(), "t.yml")
    assert not problems
    assert [stage.name for stage in rule.stages] == ["condition", "selection", "other"]
    assert rule.other_fields["timeframe"] == "15m"
    assert all("15m" not in key.value for key in rule.indicators())


def test_timeframe_makes_no_indicator(imported):
    assert not Indicator.objects.filter(value__icontains="15m").exists()
    rule = Rule.objects.get(uuid=TIMEFRAME_ID)
    assert "timeframe" not in set(rule.stages.values_list("name", flat=True))


# --- 17: a legacy pipe aggregation is not decidable on single events ----------------------------------------


def test_aggregation_rule_does_not_fire_on_a_single_event(imported):
    hits = fired(SHARE_EVENT)
    assert GOOD_ID in hits  # the same selection, without the aggregation, fires
    assert AGGREGATION_ID not in hits
    reason = skip_reasons()[AGGREGATION_ID]
    assert "not decidable on single events" in reason and "count(ShareName) by src_address > 30" in reason


def test_aggregation_rule_says_why_on_its_page_and_in_the_api(imported, client):
    page = client.get(f"/rules/{AGGREGATION_ID}/").content.decode()
    assert "Event matching skips this rule" in page and "not decidable on single events" in page
    assert "not decidable on single events" in client.get(f"/api/rules/{AGGREGATION_ID}/").json()["matching_skipped"]
    aggregation = Rule.objects.get(uuid=AGGREGATION_ID)
    assert explaining.explain_rules([aggregation], flatten_event(SHARE_EVENT)) == {}


def test_aggregation_rule_is_not_converted_as_if_it_had_none(imported):
    from catalog.conversion.converter import choose
    from catalog.conversion.stored import convert_rule

    conversion = convert_rule(Rule.objects.get(uuid=AGGREGATION_ID), [], choose("splunk"))
    assert conversion.query is None
    assert any("pipe syntax" in error for error in conversion.errors), conversion.errors
    assert convert_rule(Rule.objects.get(uuid=GOOD_ID), [], choose("splunk")).query  # the control converts


# --- 18: SigmaHQ's unnamed Data is the event data as a whole ------------------------------------------------

CRASH_VALUES = ["MsMpEng.exe", "4.18.23110.3", "6540b5d6", "mpengine.dll", "1.1.23110.2", "c0000005"]
DATA_SHAPES = {
    "list": CRASH_VALUES,
    "string": "Faulting application name: MsMpEng.exe, faulting module name: mpengine.dll",
    "evtx-text": {"#text": CRASH_VALUES},
    "unnamed-dicts": [{"#text": value} for value in CRASH_VALUES],
}


def crash_event(data) -> dict:
    system = {
        "Provider": {"#attributes": {"Name": "Application Error"}},
        "EventID": 1000,
        "Channel": "Application",
        "Computer": "host",
    }
    return {"Event": {"System": system, "EventData": {"Data": data}}}


@pytest.mark.parametrize("shape", sorted(DATA_SHAPES))
def test_unnamed_data_is_flattened_as_data(shape):
    flat = flatten_event(crash_event(DATA_SHAPES[shape]))
    assert "MsMpEng.exe" in flat["Data"] and "mpengine.dll" in flat["Data"]
    assert not {"Data.#text", "#text"} & set(flat)


def test_named_data_stays_named_and_makes_no_data_field():
    flat = flatten_event(
        crash_event([{"#attributes": {"Name": "AppName"}, "#text": "MsMpEng.exe"}, {"#text": "mpengine.dll"}])
    )
    assert flat["AppName"] == "MsMpEng.exe" and flat["Data"] == "mpengine.dll"
    assert "Data" not in flatten_event(crash_event([{"#attributes": {"Name": "AppName"}, "#text": "x"}]))


@pytest.mark.parametrize("shape", sorted(DATA_SHAPES))
def test_the_sigmahq_rule_using_data_contains_all_fires(imported, shape):
    assert MSMPENG_ID in fired(flatten_event(crash_event(DATA_SHAPES[shape])))
    other_crash = [value.replace("mpengine.dll", "other.dll") for value in CRASH_VALUES]
    assert MSMPENG_ID not in fired(flatten_event(crash_event(other_crash)))  # `all`: both values are needed


# --- 19: a YAML document that is no rule is skipped with a warning ------------------------------------------


def test_tool_configuration_beside_rules_is_a_warning(imported):
    [warning] = [p for p in imported.warnings if p.path.endswith("sigma-mapping.yaml")]
    assert warning.line == 1 and "not a Sigma rule" in warning.message and "fieldmappings" in warning.message
    assert not [p for p in imported.errors if p.path.endswith("sigma-mapping.yaml")]


def test_import_command_succeeds_with_a_tool_configuration(db, tmp_path, capsys):
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "good.yml").write_text(rule_text("Good share access", GOOD_ID, "selection"))
    (folder / "sigma-mapping.yaml").write_text(MAPPING)
    call_command("import_rules", str(folder), "--source", "repo")  # raises CommandError on any error
    assert "sigma-mapping.yaml:1: YAML document is not a Sigma rule" in capsys.readouterr().err
    assert Rule.objects.filter(uuid=GOOD_ID).exists()


def test_a_document_with_rule_keys_and_no_detection_is_still_an_error():
    text = "title: Half a rule\nlogsource:\n    product: windows\nlevel: high\n"
    rules, problems = parse_file(text.encode(), "half.yml")
    assert rules == [] and [p.severity for p in problems] == ["error"]
    assert "detection" in problems[0].message.lower()
