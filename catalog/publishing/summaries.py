"""Rewrite the summary tables (catalog.models.summaries) from the rules, in the caller's transaction.

Called by catalog.publishing.versioning.bump_version, which every change of what pages show goes through (imports
and visibility changes through catalog.publishing.visibility.publish, curation saves through Rule's signals), so
the tables are exact whenever the version a page is cached under is. Each count is computed by the
same aggregate the pages used to run per request (catalog.browse/queries.*), now once per change:
- counts over rules (facets, ATT&CK, log sources, totals): one pass over the rules table and its tag
  tables, rewritten on every change (tens of ms at SigmaHQ's size);
- events: the rules each event runs, from the need signatures through the taxonomy (the counts of
  /coverage/ for a profile of that one event), with the rules it runs without some of their fields;
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
    "quality",
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
    from catalog.browse.queries import facet_counts, rule_index  # the facets' own count, so both ways count alike

    counted: dict[tuple[str, str], list] = {}

    def add(kind: str, key, label: str, count: int) -> None:
        entry = counted.setdefault((kind, str(key if key is not None else "")[:KEY_LENGTH]), [label or "", 0])
        entry[1] += count

    facets = facet_counts.counts(rule_index.build(), None, [*FACETS, "retired"], None)  # every public rule
    for kind, rows in facets.items():
        for value, label, count in rows:
            add(kind, value, label, count)
    for (source, quality), count in _quality_by_source().items():
        add("source_quality", f"{source}\t{quality}", "", count)
    for parent, count in _rolled_technique_counts():
        add("technique_rolled", parent, "", count)
    events = _event_counts()
    for pk, (runnable, partial) in events.items():
        add("event", pk, "", runnable)
        add("event_partial", pk, "", partial)
    for name, count in _totals().items():
        add("total", name, "", count)
    add("total", "events", "", sum(1 for runnable, _ in events.values() if runnable))
    return [CountSummary(kind=k, key=key, label=label, count=n) for (k, key), (label, n) in counted.items()]


def _quality_by_source() -> dict[tuple[str, str], int]:
    """(source, quality) -> live rules: the front page's quality table (1 query)."""
    rows = Rule.objects.live().order_by().values_list("source__name", "quality").annotate(n=Count("pk"))
    return {(source, quality): n for source, quality, n in rows}


def _event_counts() -> dict[int, tuple[int, int]]:
    """EventType pk -> (live rules it runs, live rules it runs without some of their fields): the taxonomy's
    ways in over the need signatures (catalog.browse.queries.event_ways), the count /coverage/ gives a
    profile of that one event. An event a rule can run through gets its EventType row here (Security 4688
    for process_creation rules, though no rule names it)."""
    from catalog.browse.queries.event_ways import event_totals
    from catalog.core.taxonomy import title_for

    totals = event_totals()
    known = {(p, e): pk for pk, p, e in EventType.objects.values_list("pk", "provider", "event_id")}
    new = [(p, e) for p, e in totals if (p, e) not in known and e is not None]
    EventType.objects.bulk_create([EventType(provider=p, event_id=e, title=title_for(p, e)) for p, e in new])
    if new:
        known = {(p, e): pk for pk, p, e in EventType.objects.values_list("pk", "provider", "event_id")}
    return {pk: tuple(totals.get(key, (0, 0))) for key, pk in known.items()}


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
        rules=Count("pk", distinct=True), techniques=Count("techniques", distinct=True)
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
