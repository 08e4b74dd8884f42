"""Every SigmaHQ regression event fires its rule with an explanation that names the matched predicates,
explanations agree with the matcher, and the rule pages count the regression events (issue 13).

Expected rules and event counts are read from regression_data's info.yml and JSON files here.
"""

import json

import pytest
import yaml

from catalog.matching import match_events
from catalog.matching_files.explaining import explain_rules
from catalog.models import Rule, RuleTestEvent
from catalog.sigma.evaluate import load_events
from catalog.sigma.logged_events import flatten_event
from tests import test_evaluate
from tests.constants import CORPUS

REGRESSION = CORPUS / "regression_data"


@pytest.mark.django_db
@pytest.mark.parametrize("rule_id, event_file", test_evaluate.regression_cases())
def test_regression_event_fires_its_rule_with_an_explanation(corpus, rule_id, event_file):
    events = [flatten_event(e) for e in load_events(event_file.read_text(encoding="utf-8"))]
    rule = Rule.objects.get(uuid=rule_id)
    results = match_events(events, None)
    fired = [event for event, result in zip(events, results, strict=True) if rule in result.rules]
    assert fired, f"{event_file.name} should trigger {rule_id}"
    for event, result in zip(events, results, strict=True):
        explained = explain_rules(list(result.rules) + [rule], event)
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


def test_regression_events_are_counted_on_their_rules(corpus, client):
    expected = {}
    for info in REGRESSION.rglob("info.yml"):
        meta = yaml.safe_load(info.read_text(encoding="utf-8")) or {}
        files = sorted(info.parent.glob("*.json"))
        events = sum(len(load_events(f.read_text(encoding="utf-8"))) for f in files)
        if not files:
            from evtx import PyEvtxParser

            events = sum(len(list(PyEvtxParser(str(f)).records_json())) for f in info.parent.glob("*.evtx"))
        for entry in meta.get("rule_metadata") or []:
            if events and Rule.objects.filter(uuid=entry["id"]).exists():
                expected[str(entry["id"])] = expected.get(str(entry["id"]), 0) + events
    assert len(expected) >= 150
    stored = {}
    for uuid, count in RuleTestEvent.objects.values_list("rule__uuid", "event_count"):
        stored[str(uuid)] = stored.get(str(uuid), 0) + count
    assert stored == expected
    rule_id, count = sorted(expected.items())[0]
    page = client.get(f"/rules/{rule_id}/").content.decode()
    assert f'Tested by <a href="/rules/{rule_id}/test-events/">{count} logged event' in page
    answer = json.loads(client.get(f"/api/rules/{rule_id}/test-events/").content)
    assert answer["event_count"] == count and answer["files"][0]["events"][0]["explanation"]["fired"] is True
    listed = json.loads(client.get("/api/rules/?has_test_events=true&page_size=500").content)
    assert listed["count"] == Rule.objects.live().filter(uuid__in=list(expected)).count()
