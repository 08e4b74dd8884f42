"""The machine-readable contract: one JSON object per rule, the shape other tools read."""

from __future__ import annotations

from django.db.models import Prefetch

from catalog.models import CURATION_FIELDS, Predicate, Rule, RuleIndicator, Stage


def rules_for_export(queryset=None):
    """Rules with everything the export needs, in a constant number of queries."""
    queryset = Rule.objects.all() if queryset is None else queryset
    return queryset.select_related("source").prefetch_related(
        "tactics",
        Prefetch("techniques"),
        "techniques__tactics",
        "events",
        Prefetch(
            "stages",
            queryset=Stage.objects.order_by("index").prefetch_related(
                Prefetch("predicates", queryset=Predicate.objects.order_by("position"))
            ),
        ),
        Prefetch("rule_indicators", queryset=RuleIndicator.objects.select_related("indicator").order_by("position")),
    )


def attack_rows(rule: Rule) -> list[dict]:
    tactics = list(rule.tactics.all())
    rows = []
    techniques = list(rule.techniques.all())
    for tactic in tactics:
        for technique in techniques:
            if any(t.pk == tactic.pk for t in technique.tactics.all()):
                rows.append(_attack_row(tactic.name, technique))
    placed = {r["technique_id"] for r in rows}
    for technique in techniques:
        if technique.technique_id not in placed:
            technique_tactics = list(technique.tactics.all())
            tactic_name = technique_tactics[0].name if technique_tactics else ""
            rows.append(_attack_row(tactic_name, technique))
    for tactic in tactics:
        if not any(r["tactic"] == tactic.name for r in rows):
            rows.append({"tactic": tactic.name, "technique_id": "", "technique_name": ""})
    return rows


def _attack_row(tactic_name, technique) -> dict:
    return {
        "tactic": tactic_name,
        "technique_id": technique.technique_id,
        "technique_name": technique.name if technique.known else "",
        "known": technique.known,
    }


def rule_to_dict(rule: Rule) -> dict:
    data = {
        "id": str(rule.uuid),
        "title": rule.title,
        "type": rule.rule_type,
        "name": rule.name,
        "status": rule.status,
        "level": rule.level,
        "description": rule.description,
        "author": rule.author,
        "date": rule.date.isoformat() if rule.date else None,
        "modified": rule.modified.isoformat() if rule.modified else None,
        "references": rule.references,
        "falsepositives": rule.falsepositives,
        "tags": rule.tags,
        "license": rule.license,
        "related": rule.related,
        "retired": rule.retired,
        "source": rule.source.name,
        "path": rule.path,
        "logsource": {"product": rule.product, "category": rule.category, "service": rule.service},
        "attack": attack_rows(rule),
        "events": [
            {"provider": e.provider, "event_id": e.event_id, "title": e.title}
            for e in sorted(rule.events.all(), key=lambda e: (e.provider, e.event_id is not None, e.event_id or 0))
        ],
        "conditions": rule.conditions,
        "condition_tree": rule.condition_tree,
        "stages": [
            {
                "index": stage.index,
                "name": stage.name,
                "text": stage.text,
                "predicates": [
                    {
                        "field": p.field,
                        "modifiers": p.modifiers,
                        "values": p.values,
                        "combine": p.combine,
                        "group": p.group,
                    }
                    for p in stage.predicates.all()
                ],
            }
            for stage in rule.stages.all()
        ],
        "indicators": [
            {
                "field": ri.indicator.field,
                "kind": ri.indicator.kind,
                "value": ri.written,
                "transforms": ri.indicator.transforms,
                "cased": ri.indicator.cased,
                "corpus_count": ri.indicator.corpus_count,
            }
            for ri in rule.rule_indicators.all()
        ],
        "correlation": rule.correlation,
        "filter_rules": rule.filter_rules,
        "other_fields": rule.other_fields,
        "warnings": rule.warnings,
        "curation": {
            name: (
                getattr(rule, name).isoformat() if name == "verified_at" and rule.verified_at else getattr(rule, name)
            )
            for name in CURATION_FIELDS
        },
    }
    return data
