"""A rule's logged test events (catalog/importing/test_events.py), each explained: the page
/rules/<id>/test-events/ and its API twin read them here."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from catalog.core.sigma.evaluate import EventView
from catalog.matching import mapped
from catalog.matching.explaining import explained_on, rule_parts
from catalog.matching.logsources import infer
from catalog.models import Rule
from catalog.models.matching_jobs import RuleTestEvent


def rule_test_events(rule_uuid) -> tuple[Rule, list[dict]]:
    """The public rule and its test event files: [{path, event_count, events: [{event, explanation}]}]."""
    rule = get_object_or_404(Rule.objects.public(), uuid=rule_uuid)
    parts = rule_parts([rule]).get(rule.pk)
    files = []
    for row in RuleTestEvent.objects.filter(rule=rule).order_by("path"):
        events = []
        for event in row.events:
            # A Security 4688 testing a process_creation rule is read as the matcher reads it (with the renames).
            source = mapped.through(rule, None, infer(event))
            explanation = explained_on(*parts, event, EventView(event), source) if parts else None
            events.append({"event": event, "explanation": explanation})
        files.append({"path": row.path, "event_count": row.event_count, "events": events})
    return rule, files
