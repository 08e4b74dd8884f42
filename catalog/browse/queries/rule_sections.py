"""The sections a rule page is made of, built the same way for a stored rule and a pasted one.

The rule page (catalog.browse.queries.rule_page) and /preview/ (catalog.importing.preview_sections)
both show a rule's stages, its indicator tables split by polarity, and the rules most similar to it;
both build them here and render them with the same templates (templates/browse/_rule_*.html), so
the preview of a rule is the page it will have once imported. A stored rule gives Django rows, a
pasted one the parser's dataclasses with the same attribute names (`StageView`, `IndicatorRow`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, FloatField, Q, Sum, Value, Window
from django.db.models.functions import Cast, Greatest, Ln, RowNumber

from catalog.models import Polarity, RuleIndicator, live_rules_q

SIMILAR_LIMIT = 10
# Values shown in each of the rule page's two indicator tables; the rest are one link away, paginated
# (/rules/<id>/indicators/). A driver block list with 4,400 hashes made a 2.1 MB page before.
INDICATORS_SHOWN = 200
SHARED_SHOWN = 5  # the rarest shared indicators shown beside each similar rule
LOOKED_FOR = (Polarity.LOOKS_FOR, Polarity.BOTH)
EXCLUDED = (Polarity.EXCLUDES, Polarity.BOTH)


@dataclass
class IndicatorRow:
    """One (field, kind) line of the rule page's indicator table, with each value and its count."""

    field: str
    kind: str
    items: list  # RuleIndicator rows (their indicator selected) in the rule's order, or stand-ins alike


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
class StageView:
    """A stage as the Stages section shows it: the condition (index 0) or a detection block."""

    index: int
    name: str
    text: str
    combine: str  # how the block's predicates (or the maps of a list) combine: and / or
    predicates: list  # Predicate rows or ParsedPredicates: group, field, modifiers, values, combine, polarity
    excluded: bool  # the condition negates the block (or names it both ways): its values are exclusions


def stage_view(index: int, name: str, text: str, combine: str, predicates) -> StageView:
    predicates = list(predicates)
    excluded = bool(index) and any(p.polarity in EXCLUDED for p in predicates)
    return StageView(index, name, text, combine, predicates, excluded)


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


def polarity_tables(carried: list) -> tuple[IndicatorTable, IndicatorTable]:
    """The "Looks for" and the "Excludes" table of a rule's indicators (a `both` one is in each)."""
    return (
        indicator_table([ri for ri in carried if ri.polarity in LOOKED_FOR]),
        indicator_table([ri for ri in carried if ri.polarity in EXCLUDED]),
    )


def similar_rules(mine, not_this: Q, limit: int = SIMILAR_LIMIT, counted: int = 0) -> list[dict]:
    """The live rules whose looked-for indicators overlap `mine` most, rare ones weighing most (2 queries).

    `mine`: the indicator ids a rule looks for (a subquery, or a list for a pasted rule); `not_this`
    leaves the rule itself out. Each shared indicator adds 1 / ln(1 + the number of rules looking for
    it): the Adamic-Adar weighting of shared neighbours, an inverse document frequency that needs no
    corpus size (counting the live rules would cost a table scan per page). One shared by 2 rules adds
    0.91, one shared by 300 rules 0.18. `counted`: added to every count, 1 for a pasted rule, which the
    stored counts do not hold yet, so that it is weighed as it will be once imported. Exclusions do not
    make rules similar (a common allow-list is shared by rules about unrelated things). Scored in SQL:
    a rule with thousands of indicators costs one aggregate, not rows read in Python.
    """
    count = Greatest(F("indicator__corpus_count"), 1) + Value(counted)
    rarity = Value(1.0) / Ln(Value(1.0) + Cast(count, FloatField()))
    shared = RuleIndicator.objects.filter(live_rules_q("rule"), indicator_id__in=mine, polarity__in=LOOKED_FOR).exclude(
        not_this
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
