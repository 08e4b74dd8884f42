"""The machine-readable contract: one JSON object per rule, the shape other tools read."""

from __future__ import annotations

from django.db.models import Prefetch

from catalog.browse.queries import event_ways
from catalog.core.sigma import decidable
from catalog.models import CURATION_FIELDS, Predicate, Rule, RuleIndicator, Stage


def rules_for_export(queryset=None):
    """Rules with everything the export needs, in a constant number of queries."""
    queryset = Rule.objects.all() if queryset is None else queryset
    return queryset.select_related("source").prefetch_related(
        "tactics",
        "techniques",
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
    """The record's `attack`: one {tactic, technique_id, technique_name, known} per table entry."""
    rows = []
    for entry in rule.attack_table():
        tactic_name = entry.tactic.name if entry.tactic else ""
        technique = entry.technique
        if technique is None:  # a tactic tagged without a technique of it
            rows.append({"tactic": tactic_name, "technique_id": "", "technique_name": ""})
        else:
            rows.append(
                {
                    "tactic": tactic_name,
                    "technique_id": technique.technique_id,
                    "technique_name": technique.name if technique.known else "",
                    "known": technique.known,
                }
            )
    return rows


def matching_skip_reason(rule: Rule) -> str:
    """Why event matching skips this rule ('' when it runs it), from the rule and its prefetched stages
    (rules_for_export): no query; compiled as matching compiles it unless it only compares plain text
    (catalog.core.sigma.decidable)."""
    predicates = [
        (stage.name, row.group, row.field, row.modifiers, row.values)
        for stage in rule.stages.all()
        for row in stage.predicates.all()
    ]
    timeframe = (rule.other_fields or {}).get("timeframe")
    return decidable.skip_reason(rule.rule_type, rule.conditions, rule.condition_tree, predicates, timeframe)


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
        "event_coverage": [way.as_dict() for way in event_ways.rule_ways(rule)],
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
                        "polarity": p.polarity,
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
                "polarity": ri.polarity,
                "corpus_count": ri.indicator.corpus_count,
                "exclude_count": ri.indicator.exclude_count,
            }
            for ri in rule.rule_indicators.all()
        ],
        "correlation": rule.correlation,
        "filter_rules": rule.filter_rules,
        "other_fields": rule.other_fields,
        "warnings": rule.warnings,
        "quality": rule.quality or None,
        "findings": rule.findings,
        "matching_skipped": matching_skip_reason(rule),
        "curation": {
            name: (
                getattr(rule, name).isoformat() if name == "verified_at" and rule.verified_at else getattr(rule, name)
            )
            for name in CURATION_FIELDS
        },
    }
    return data
