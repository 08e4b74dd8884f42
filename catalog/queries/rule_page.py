"""One rule: the record behind /rules/<id>/ and /api/rules/<id>/, and what its page adds around it.

`public_rule()` loads a rule with everything its export record needs (catalog.queries.records);
the API renders that record, the page renders the same rule with its links, related rules and
similar rules.
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass

from django.db.models import Count, Q

from catalog.models import Rule, RuleIndicator, RuleReference, live_rules_q, public_rules_q
from catalog.queries.records import attack_table, rules_for_export
from catalog.reference import attack

SIMILAR_LIMIT = 10


@dataclass
class IndicatorRow:
    """One (field, kind) line of the rule page's indicator table, with each value and its count."""

    field: str
    kind: str
    items: list  # RuleIndicator rows (their indicator selected) in the rule's order


@dataclass
class RuleLink:
    """A rule named by id or name from another rule; `rule` is None when it is not in the catalog."""

    target: str
    relation: str = ""
    rule: Rule | None = None


@dataclass
class RulePage:
    rule: Rule
    attack_rows: list
    events: list
    stages: list
    indicator_rows: list[IndicatorRow]
    related: list[RuleLink]
    targets: list[RuleLink]  # a correlation's or filter's own rules
    involved_in: list[RuleLink]  # correlations and filters that name this rule
    similar: list[dict]


def public_rule(rule_uuid) -> Rule | None:
    """A public rule (retired ones included) with everything its record and page show: 7 queries; None if hidden."""
    return rules_for_export(Rule.objects.public()).filter(uuid=rule_uuid).first()


def rule_page(rule_uuid) -> RulePage | None:
    """Everything the rule page shows, in 10 queries for any rule; None for unknown or hidden."""
    rule = public_rule(rule_uuid)
    if rule is None:
        return None
    related = [
        RuleLink(str(r.get("id", "")).lower(), str(r.get("type", ""))) for r in rule.related if isinstance(r, dict)
    ]
    targets = [RuleLink(str(t).lower()) for t in [*rule.correlation.get("rules", []), *rule.filter_rules]]
    _resolve(rule, related + targets)
    return RulePage(
        rule=rule,
        attack_rows=attack.by_tactic(attack_table(rule)),
        events=sorted(rule.events.all(), key=lambda e: (e.provider, e.event_id is not None, e.event_id or 0)),
        stages=list(rule.stages.all()),
        indicator_rows=indicator_rows(rule.rule_indicators.all()),
        related=related,
        targets=targets,
        involved_in=involved_in(rule),
        similar=similar_rules(rule),
    )


def indicator_rows(rule_indicators) -> list[IndicatorRow]:
    """Group a rule's indicators by (field, kind), sorted like the reference page."""
    rows: dict[tuple[str, str], IndicatorRow] = {}
    for ri in rule_indicators:
        key = (ri.indicator.field, ri.indicator.kind)
        rows.setdefault(key, IndicatorRow(*key, items=[])).items.append(ri)
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0].casefold(), k[0], k[1]))]


def _resolve(rule: Rule, links: list[RuleLink]) -> None:
    """Point each link at its public rule by id or name, in one query.

    The rule's own id is always asked for too, so the query runs (and counts) the same for a
    rule that names no other rule.
    """
    ids, names = {rule.uuid}, set()
    for link in links:
        parsed = _as_uuid(link.target)
        if parsed:
            ids.add(parsed)
        elif link.target:
            names.add(link.target)
    found = (
        Rule.objects.public()
        .filter(Q(uuid__in=ids) | Q(name__in=names))
        .only("uuid", "title", "name", "level", "level_override", "retired", "rule_type")
    )
    by_key = {}
    for other in found:
        by_key[str(other.uuid)] = other
        if other.name:
            by_key.setdefault(other.name.lower(), other)
    for link in links:
        link.rule = by_key.get(link.target)


def involved_in(rule: Rule) -> list[RuleLink]:
    """Public correlation and filter rules that name this rule by id or by name (one query)."""
    keys = [str(rule.uuid).lower()] + ([rule.name.lower()] if rule.name else [])
    refs = (
        RuleReference.objects.filter(kind__in=[RuleReference.CORRELATES, RuleReference.FILTERS], target__in=keys)
        .filter(public_rules_q("rule"))
        .exclude(rule=rule)
        .select_related("rule")
        .order_by("kind", "rule__title")
    )
    return [RuleLink(ref.target, ref.kind, ref.rule) for ref in refs]


def similar_rules(rule: Rule, limit: int = SIMILAR_LIMIT) -> list[dict]:
    """The live rules sharing the most indicators with this one, with the shared count (one query)."""
    mine = RuleIndicator.objects.filter(rule_id=rule.pk).values("indicator_id")
    rows = (
        RuleIndicator.objects.filter(live_rules_q("rule"), indicator_id__in=mine)
        .exclude(rule_id=rule.pk)
        .values("rule__uuid", "rule__title", "rule__level", "rule__level_override")
        .annotate(shared=Count("indicator_id"))
        .order_by("-shared", "rule__title")[:limit]
    )
    return [
        {
            "uuid": r["rule__uuid"],
            "title": r["rule__title"],
            "level": r["rule__level_override"] or r["rule__level"],
            "shared": r["shared"],
        }
        for r in rows
    ]


def _as_uuid(text: str):
    try:
        return uuid_lib.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None
