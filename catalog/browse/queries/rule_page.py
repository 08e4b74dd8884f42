"""One rule: the record behind /rules/<id>/ and /api/rules/<id>/, and what its page adds around it.

`public_rule()` loads a rule with everything its export record needs (catalog.browse.queries.records);
the API renders that record, the page renders the same rule with its links, related rules and
similar rules.
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.db.models.functions import Lower

from catalog.browse.queries import event_ways
from catalog.browse.queries import rule_sections as sections
from catalog.browse.queries.records import matching_skip_reason, rules_for_export
from catalog.core.reference import attack
from catalog.models import Rule, RuleIndicator, RuleReference, public_rules_q
from catalog.models.matching_jobs import RuleTestEvent
from catalog.platform import fragments

# What rule_page() costs for any rule: the record (public_rule, 7), the linked rules (1), the
# correlations and filters naming it (1), similar rules and their rarest shared indicators (2), the
# test events (1). tests/browse/test_pages.py counts them with the whole rendered page.
QUERIES = 12
INDICATORS_PER_PAGE = 500
# The sections /preview/ shares (catalog.browse.queries.rule_sections), named here as the page reads them.
INDICATORS_SHOWN = sections.INDICATORS_SHOWN
LOOKED_FOR, EXCLUDED = sections.LOOKED_FOR, sections.EXCLUDED
IndicatorRow, IndicatorTable = sections.IndicatorRow, sections.IndicatorTable
indicator_rows, indicator_table = sections.indicator_rows, sections.indicator_table


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
    events: list  # every event the rule can run through (catalog.browse.queries.event_ways.EventWay)
    stages: list[sections.StageView]
    indicator_rows: IndicatorTable  # what the rule looks for (polarity looks_for or both)
    excluded_rows: IndicatorTable  # what it excludes (excludes or both)
    related: list[RuleLink]
    targets: list[RuleLink]  # a correlation's or filter's own rules
    involved_in: list[RuleLink]  # correlations and filters that name this rule
    similar: list[dict]
    matching_skipped: str = ""  # why event matching leaves the rule out ('' when it runs it)
    test_events: int = 0  # logged events that test the rule ("Tested by N logged events")


def public_rule(rule_uuid) -> Rule | None:
    """A public rule (retired ones included) with everything its record and page show: 7 queries; None if hidden."""
    return rules_for_export(Rule.objects.public()).filter(uuid=rule_uuid).first()


def fragment_keys(request, rule_uuid) -> dict[str, str]:
    """The keys of the page's parts that depend on the catalog alone (catalog.platform.fragments): "top" (the
    header and description; its JSON link carries the page's query) and "sections" (ATT&CK to History)."""
    version = fragments.version(request)
    return {
        "top": fragments.key(version, "rule-top", rule_uuid, request.GET.urlencode()),
        "sections": fragments.key(version, "rule-sections", rule_uuid),
    }


def kept_page_rule(rule_uuid) -> Rule | None:
    """The rule alone, for a page whose kept parts say the rest (1 query): its title and Query section."""
    return Rule.objects.public().filter(uuid=rule_uuid).first()


def rule_page(rule_uuid) -> RulePage | None:
    """Everything the rule page shows from the catalog, in QUERIES (12) queries for any rule; None if unknown or hidden.

    The page's view adds the rule's history (catalog.changes.history) and its converted query
    (catalog.conversion.query_section); the templates only format what they are given.
    """
    rule = public_rule(rule_uuid)
    if rule is None:
        return None
    related = related_links(rule.related)
    targets = [RuleLink(str(t).lower()) for t in [*rule.correlation.get("rules", []), *rule.filter_rules]]
    resolve_links(rule.uuid, related + targets)
    looked_for, excluded = sections.polarity_tables(list(rule.rule_indicators.all()))
    return RulePage(
        rule=rule,
        attack_rows=attack.by_tactic(rule.attack_table()),
        events=event_ways.rule_ways(rule),
        stages=[  # predicates prefetched with the record
            sections.stage_view(s.index, s.name, s.text, s.combine, s.predicates.all()) for s in rule.stages.all()
        ],
        indicator_rows=looked_for,
        excluded_rows=excluded,
        related=related,
        targets=targets,
        involved_in=involved_in(rule),
        similar=similar_rules(rule),
        matching_skipped=matching_skip_reason(rule),
        test_events=test_event_count(rule),
    )


def test_event_count(rule: Rule) -> int:
    """Logged events that test the rule, its regression data (catalog.importing.test_events): 1 query."""
    return RuleTestEvent.objects.filter(rule=rule).aggregate(n=Sum("event_count"))["n"] or 0


def indicator_page_rule(rule_uuid) -> Rule | None:
    """The public rule whose indicators /rules/<id>/indicators/ pages through (1 query); None if hidden."""
    return Rule.objects.public().filter(uuid=rule_uuid).only("uuid", "title", "retired").first()


def rule_indicator_queryset(rule: Rule, polarities):
    """A rule's indicators of some polarities in the rule page's order (field, kind, then as written)."""
    return (
        RuleIndicator.objects.filter(rule_id=rule.pk, polarity__in=polarities)
        .select_related("indicator")
        .order_by(Lower("indicator__field"), "indicator__field", "indicator__kind", "position")
    )


def related_links(related: list) -> list[RuleLink]:
    """The rule's `related` entries (id and type), to be resolved."""
    return [RuleLink(str(r.get("id", "")).lower(), str(r.get("type", ""))) for r in related if isinstance(r, dict)]


def resolve_links(own_uuid, links: list[RuleLink]) -> None:
    """Point each link at its public rule by id or name, in one query.

    The rule's own id is always asked for too, so the query runs (and counts) the same for a
    rule that names no other rule.
    """
    ids, names = {own_uuid}, set()
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


def similar_rules(rule: Rule, limit: int = sections.SIMILAR_LIMIT) -> list[dict]:
    """The live rules looking for what this rule looks for, rare shared values weighing most (2 queries;
    catalog.browse.queries.rule_sections.similar_rules says how they are scored)."""
    mine = RuleIndicator.objects.filter(rule_id=rule.pk, polarity__in=LOOKED_FOR).values("indicator_id")
    return sections.similar_rules(mine, Q(rule_id=rule.pk), limit)


def _as_uuid(text: str):
    try:
        return uuid_lib.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None
