"""One rule: the record behind /rules/<id>/ and /api/rules/<id>/, and what its page adds around it.

`public_rule()` loads a rule with everything its export record needs (catalog.browse.queries.records);
the API renders that record, the page renders the same rule with its links, related rules and
similar rules.
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass

from django.db.models import Count, F, FloatField, Q, Sum, Value, Window
from django.db.models.functions import Cast, Greatest, Ln, Lower, RowNumber

from catalog.browse.queries import event_ways
from catalog.browse.queries.records import matching_skip_reason, rules_for_export
from catalog.core.reference import attack
from catalog.models import Polarity, Rule, RuleIndicator, RuleReference, live_rules_q, public_rules_q
from catalog.models.matching_jobs import RuleTestEvent

SIMILAR_LIMIT = 10
# What rule_page() costs for any rule: the record (public_rule, 7), the linked rules (1), the
# correlations and filters naming it (1), similar rules and their rarest shared indicators (2), the
# test events (1). tests/browse/test_pages.py counts them with the whole rendered page.
QUERIES = 12
# Values shown in each of the rule page's two indicator tables; the rest are one link away, paginated
# (/rules/<id>/indicators/). A driver block list with 4,400 hashes made a 2.1 MB page before.
INDICATORS_SHOWN = 200
INDICATORS_PER_PAGE = 500
SHARED_SHOWN = 5  # the rarest shared indicators shown beside each similar rule
LOOKED_FOR = (Polarity.LOOKS_FOR, Polarity.BOTH)
EXCLUDED = (Polarity.EXCLUDES, Polarity.BOTH)


@dataclass
class IndicatorRow:
    """One (field, kind) line of the rule page's indicator table, with each value and its count."""

    field: str
    kind: str
    items: list  # RuleIndicator rows (their indicator selected) in the rule's order


@dataclass
class IndicatorTable:
    """One of the rule page's indicator tables: its first rows (at most `shown` values) of `total`."""

    rows: list[IndicatorRow]
    total: int
    shown: int

    def __bool__(self) -> bool:
        return bool(self.rows)

    def __iter__(self):
        return iter(self.rows)

    @property
    def collapsed(self) -> bool:
        return self.shown < self.total


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
    stages: list
    indicator_rows: IndicatorTable  # what the rule looks for (polarity looks_for or both)
    excluded_rows: IndicatorTable  # what it excludes (excludes or both)
    excluded_blocks: set[str]  # names of the detection blocks the condition excludes (or names both ways)
    related: list[RuleLink]
    targets: list[RuleLink]  # a correlation's or filter's own rules
    involved_in: list[RuleLink]  # correlations and filters that name this rule
    similar: list[dict]
    matching_skipped: str = ""  # why event matching leaves the rule out ('' when it runs it)
    test_events: int = 0  # logged events that test the rule ("Tested by N logged events")


def public_rule(rule_uuid) -> Rule | None:
    """A public rule (retired ones included) with everything its record and page show: 7 queries; None if hidden."""
    return rules_for_export(Rule.objects.public()).filter(uuid=rule_uuid).first()


def rule_page(rule_uuid) -> RulePage | None:
    """Everything the rule page shows from the catalog, in QUERIES (12) queries for any rule; None if unknown or hidden.

    The page's view adds the rule's history (catalog.changes.history) and its converted query
    (catalog.conversion.query_section); the templates only format what they are given.
    """
    rule = public_rule(rule_uuid)
    if rule is None:
        return None
    related = [
        RuleLink(str(r.get("id", "")).lower(), str(r.get("type", ""))) for r in rule.related if isinstance(r, dict)
    ]
    targets = [RuleLink(str(t).lower()) for t in [*rule.correlation.get("rules", []), *rule.filter_rules]]
    _resolve(rule, related + targets)
    stages = list(rule.stages.all())
    carried = list(rule.rule_indicators.all())
    return RulePage(
        rule=rule,
        attack_rows=attack.by_tactic(rule.attack_table()),
        events=event_ways.rule_ways(rule),
        stages=stages,
        indicator_rows=indicator_table([ri for ri in carried if ri.polarity in LOOKED_FOR]),
        excluded_rows=indicator_table([ri for ri in carried if ri.polarity in EXCLUDED]),
        excluded_blocks={
            stage.name
            for stage in stages
            if any(p.polarity in EXCLUDED for p in stage.predicates.all())  # prefetched with the record
        },
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


def indicator_rows(rule_indicators) -> list[IndicatorRow]:
    """Group a rule's indicators by (field, kind), sorted like the reference page."""
    rows: dict[tuple[str, str], IndicatorRow] = {}
    for ri in rule_indicators:
        key = (ri.indicator.field, ri.indicator.kind)
        rows.setdefault(key, IndicatorRow(*key, items=[])).items.append(ri)
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0].casefold(), k[0], k[1]))]


def indicator_table(carried: list, limit: int = INDICATORS_SHOWN) -> IndicatorTable:
    """The table's rows in page order, cut after `limit` values (the rest: rule_indicator_page)."""
    rows, shown = [], 0
    for row in indicator_rows(carried):
        if shown >= limit:
            break
        row.items = row.items[: limit - shown]
        shown += len(row.items)
        rows.append(row)
    return IndicatorTable(rows, len(carried), shown)


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
    """The live rules whose looked-for indicators overlap this rule's most, rare ones weighing most (2 queries).

    Each shared indicator adds 1 / ln(1 + the number of rules looking for it): the Adamic-Adar
    weighting of shared neighbours, an inverse document frequency that needs no corpus size (counting
    the live rules would cost a table scan per page). One shared by 2 rules adds 0.91, one shared by
    300 rules 0.18. Exclusions do not make rules similar (a common allow-list is shared by rules about
    unrelated things). Scored in SQL: a rule with thousands of indicators costs one aggregate, not
    rows read in Python.
    """
    mine = RuleIndicator.objects.filter(rule_id=rule.pk, polarity__in=LOOKED_FOR).values("indicator_id")
    rarity = Value(1.0) / Ln(Value(1.0) + Cast(Greatest(F("indicator__corpus_count"), 1), FloatField()))
    shared = RuleIndicator.objects.filter(live_rules_q("rule"), indicator_id__in=mine, polarity__in=LOOKED_FOR).exclude(
        rule_id=rule.pk
    )
    rows = list(
        shared.values("rule_id", "rule__uuid", "rule__title", "rule__level", "rule__level_override")
        .annotate(shared=Count("indicator_id"), score=Sum(rarity))
        .order_by("-score", "rule__title", "rule_id")[:limit]
    )
    # Run even with no similar rule (no id matches 0), so the page costs the same queries for every rule.
    rarest = _rarest_shared(shared.filter(rule_id__in=[r["rule_id"] for r in rows] or [0]))
    return [
        {
            "uuid": r["rule__uuid"],
            "title": r["rule__title"],
            "level": r["rule__level_override"] or r["rule__level"],
            "shared": r["shared"],
            "score": r["score"],
            "indicators": rarest.get(r["rule_id"], []),
        }
        for r in rows
    ]


def _rarest_shared(shared) -> dict[int, list]:
    """Per similar rule, its SHARED_SHOWN rarest shared indicators (a window function: no row beyond those read)."""
    ranked = shared.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("rule_id")],
            order_by=[F("indicator__corpus_count").asc(), F("indicator__field").asc(), F("indicator_id").asc()],
        )
    ).filter(rank__lte=SHARED_SHOWN)
    found: dict[int, list] = {}
    for ri in ranked.select_related("indicator").order_by("rule_id", "rank"):
        found.setdefault(ri.rule_id, []).append(ri.indicator)
    return found


def _as_uuid(text: str):
    try:
        return uuid_lib.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None
