"""The rule pages and the API count SigmaHQ's regression events on their rules (tests/matching/test_evaluate.py checks
that each fires its rule, with an explanation).

Expected rules and event counts are read from regression_data's info.yml and JSON files here.
"""

import json

import yaml

from catalog.core.sigma.evaluate import load_events
from catalog.models import Rule, RuleTestEvent
from tests.constants import CORPUS

REGRESSION = CORPUS / "regression_data"


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
