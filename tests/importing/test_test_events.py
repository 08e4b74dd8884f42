"""Regression events beside the imported folders (catalog/importing/test_events.py): read at each import, rewritten
only when they changed, ids matched as the catalog stores them."""

import json

import pytest

from catalog.importing.importer import import_paths
from catalog.models import RuleTestEvent

pytestmark = pytest.mark.django_db

RULE_ID = "5f6b7c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
RULE = f"""title: Whoami
id: {RULE_ID}
status: test
logsource: {{product: windows, category: process_creation}}
detection:
  selection: {{Image|endswith: '\\whoami.exe'}}
  condition: selection
level: low
"""


def event(number: int) -> dict:
    return {"EventID": 1, "Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": f"whoami /{number}"}


def repository(tmp_path, events: int):
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "whoami.yml").write_text(RULE, encoding="utf-8")
    tested = tmp_path / "regression_data" / "rules" / "whoami"
    tested.mkdir(parents=True, exist_ok=True)
    # Upper case, as some info files write it, and an id that is no UUID (skipped, not an error).
    (tested / "info.yml").write_text(
        f"rule_metadata:\n  - id: {RULE_ID.upper()}\n  - id: not-a-uuid\n  - title: no id\n", encoding="utf-8"
    )
    (tested / "events.json").write_text(json.dumps([event(n) for n in range(events)]), encoding="utf-8")
    return str(tmp_path / "rules")


def test_test_events_are_stored_and_rewritten_only_when_they_change(tmp_path):
    rules = repository(tmp_path, events=2)
    assert not import_paths([rules], source="tested").errors
    row = RuleTestEvent.objects.get()
    assert (str(row.rule.uuid), row.path, row.event_count) == (RULE_ID, "regression_data/rules/whoami/events.json", 2)
    assert row.events[1]["CommandLine"] == "whoami /1"

    import_paths([rules], source="tested")  # nothing changed: the row stays as it was written
    assert list(RuleTestEvent.objects.values_list("pk", "event_count")) == [(row.pk, 2)]

    repository(tmp_path, events=3)
    import_paths([rules], source="tested")
    assert list(RuleTestEvent.objects.values_list("event_count", flat=True)) == [3]
    assert RuleTestEvent.objects.get().events[2]["CommandLine"] == "whoami /2"
