"""Rewrite the summary tables (catalog.models.summaries) from the rules, in the caller's transaction.

Called by catalog.publishing.versioning.bump_version, which every change of what pages show goes through (imports
and visibility changes through catalog.publishing.visibility.publish, curation saves through Rule's signals), so
the tables are exact whenever the version a page is cached under is. Each count is computed by the
same aggregate the pages used to run per request (catalog.browse/queries.*), now once per change:
- counts over rules (facets, ATT&CK, events, log sources, totals): one pass over the rules table and
  its tag tables, rewritten on every change (tens of ms at SigmaHQ's size);
- field counts: an aggregate over every rule's indicators, rewritten only when the set of live rules
  can have changed (`fields=True`: imports, hide/unhide, retire), not when a curator edits a level.
The pages read the tables through catalog.browse.queries.stored_counts.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Concat, StrIndex, Substr

from catalog.models import EventType, Rule, RuleIndicator, live_rules_q
from catalog.models.summaries import CountSummary, FieldSummary, LogsourceSummary

FACETS = (
    *("status", "level", "product", "category", "service", "tactic", "technique", "tag", "author", "source"),
    "has_test_events",
)
KEY_LENGTH = 500  # CountSummary.key; longer values (a pathological author list) are cut, their counts merged


def refresh(*, fields: bool = True) -> None:
    """Rewrite the rule counts, and the field counts when `fields`."""
    with transaction.atomic():
        CountSummary.objects.all().delete()
        CountSummary.objects.bulk_create(_count_rows(), batch_size=500)
        LogsourceSummary.objects.all().delete()
        logsources = Rule.objects.live().order_by().values("product", "category", "service")
        LogsourceSummary.objects.bulk_create(LogsourceSummary(**row) for row in logsources.annotate(rules=Count("pk")))
        if fields:
            FieldSummary.objects.all().delete()
            FieldSummary.objects.bulk_create(_field_rows(), batch_size=500)


def _count_rows() -> list[CountSummary]:
    from catalog.browse.queries import facet_counts  # the facets' own aggregate, so both ways count alike

    counted: dict[tuple[str, str], list] = {}

    def add(kind: str, key, label: str, count: int) -> None:
        entry = counted.setdefault((kind, str(key if key is not None else "")[:KEY_LENGTH]), [label or "", 0])
        entry[1] += count

    facets = facet_counts.counts(Rule.objects.public().order_by(), [*FACETS, "retired"], None)
    for kind, rows in facets.items():
        for value, label, count in rows:
            add(kind, value, label, count)
    for parent, count in _rolled_technique_counts():
        add("technique_rolled", parent, "", count)
    for pk, count in EventType.objects.annotate(
        n=Count("rules", filter=live_rules_q("rules"), distinct=True)
    ).values_list("pk", "n"):
        add("event", pk, "", count)
    for name, count in _totals().items():
        add("total", name, "", count)
    return [CountSummary(kind=k, key=key, label=label, count=n) for (k, key), (label, n) in counted.items()]


def _rolled_technique_counts():
    """(parent technique id, live rules tagged with it or one of its sub-techniques), by SQL."""
    through = Rule.techniques.through.objects.filter(live_rules_q("rule")).order_by()
    technique_id = F("technique__technique_id")
    parent = Substr(technique_id, 1, StrIndex(Concat(technique_id, Value(".")), Value(".")) - 1)
    return (
        through.annotate(parent=parent)
        .values("parent")
        .annotate(n=Count("rule_id", distinct=True))
        .values_list("parent", "n")
    )


def _totals() -> dict[str, int]:
    from catalog.browse.queries.indicators import listed_indicators

    totals = Rule.objects.live().aggregate(
        rules=Count("pk", distinct=True),
        techniques=Count("techniques", distinct=True),
        events=Count("events", distinct=True),
    )
    totals["indicators"] = listed_indicators().count()
    return totals


def _field_rows() -> list[FieldSummary]:
    from catalog.browse.queries.indicators import EXCLUDED, LOOKED_FOR

    indicators = RuleIndicator.objects.filter(live_rules_q("rule")).order_by()
    counts = {
        "rules": Count("rule_id", distinct=True),
        "rules_looking": Count("rule_id", distinct=True, filter=Q(polarity__in=LOOKED_FOR)),
        "rules_excluding": Count("rule_id", distinct=True, filter=Q(polarity__in=EXCLUDED)),
    }
    rows = [
        FieldSummary(whole=True, **row)
        for row in indicators.values(field=F("indicator__field")).annotate(
            **counts, indicators=Count("indicator_id", distinct=True)
        )
    ]
    rows += [
        FieldSummary(whole=False, **row)
        for row in indicators.values(
            field=F("indicator__field"),
            product=F("rule__product"),
            category=F("rule__category"),
            service=F("rule__service"),
        ).annotate(**counts)
    ]
    return rows
