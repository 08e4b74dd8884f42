"""Fields: every field that live rules test, with its rules, indicators and log sources.

/fields/ and /api/fields/ read `field_counts()`; a field's page and /api/fields/<name>/ read
`field_logsources()`. The field-less (keyword) detections are the field '' (KEYWORDS_SLUG in URLs).
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Exists, F, OuterRef, Q

from catalog.browse.queries.indicators import EXCLUDED, LOOKED_FOR, ORDER, listed_indicators
from catalog.browse.queries.rules import listing
from catalog.models import FieldSummary, LogsourceSummary, Rule, RuleIndicator, live_rules_q

KEYWORDS_SLUG = "-keywords-"  # URL stand-in for the field-less (keyword) indicators, whose field is ''
LOGSOURCES_SHOWN = 3  # per field on /fields/
LOGSOURCE_KEYS = ("product", "category", "service")


def field_param(name: str) -> str:
    """The URL segment of a field: '' (keyword detections) has a stand-in."""
    return name if name else KEYWORDS_SLUG


def field_from_param(param: str) -> str:
    return "" if param == KEYWORDS_SLUG else param


def live_rule_indicators(logsource: dict | None = None):
    """RuleIndicator rows of live rules, of one log source's rules when given (exact values)."""
    queryset = RuleIndicator.objects.filter(live_rules_q("rule"))
    for key, value in (logsource or {}).items():
        if value:
            queryset = queryset.filter(**{f"rule__{key}": value})
    return queryset


def field_counts(logsource: dict | None = None, contains: str = ""):
    """Per field, most used first (1 query): `rules` (live rules testing it), `indicators` (distinct ones),
    and the two apart: `rules_looking` (rules looking for a value of it), `rules_excluding` (rules excluding one).

    Over the whole catalog they are read from the summary table (catalog.publishing.summaries); for one log
    source's rules they are counted.
    """
    if not _narrowed(logsource):
        rows = FieldSummary.objects.filter(whole=True)
        if contains:
            rows = rows.filter(field__icontains=contains)
        return rows.values(*SUMMARY_COLUMNS).order_by("-rules", "field")
    indicators = live_rule_indicators(logsource)
    if contains:
        indicators = indicators.filter(indicator__field__icontains=contains)
    return (
        indicators.order_by()
        .values(field=F("indicator__field"))
        .annotate(
            rules=Count("rule_id", distinct=True),
            indicators=Count("indicator_id", distinct=True),
            rules_looking=Count("rule_id", distinct=True, filter=Q(polarity__in=LOOKED_FOR)),
            rules_excluding=Count("rule_id", distinct=True, filter=Q(polarity__in=EXCLUDED)),
        )
        .order_by("-rules", "field")
    )


SUMMARY_COLUMNS = ("field", "rules", "indicators", "rules_looking", "rules_excluding")


def _narrowed(logsource: dict | None) -> bool:
    return any((logsource or {}).values())


def field_table(logsource: dict | None = None) -> list[dict]:
    """Every field with its counts and the log sources it is used with (2 queries)."""
    rows = list(field_counts(logsource))
    per_source = defaultdict(list)
    for r in _per_logsource(logsource):
        per_source[r["field"]].append(
            {"product": r["product"], "category": r["category"], "service": r["service"], "n": r["rules"]}
        )
    return [
        {
            **row,
            "param": field_param(row["field"]),
            "logsources": per_source[row["field"]][:LOGSOURCES_SHOWN],
            "more_logsources": max(0, len(per_source[row["field"]]) - LOGSOURCES_SHOWN),
        }
        for row in rows
    ]


def _per_logsource(logsource: dict | None):
    """(field, product, category, service, rules) of the live rules (of one log source), most used first."""
    rows = FieldSummary.objects.filter(whole=False)
    for key, value in (logsource or {}).items():
        if value:
            rows = rows.filter(**{key: value})
    return rows.values("field", *LOGSOURCE_KEYS, "rules").order_by("-rules", "field", *LOGSOURCE_KEYS)


def field_summary(name: str) -> dict | None:
    """One field's `rules` and `indicators` counts; None when no live rule tests it (1 query)."""
    return field_counts().filter(field=name).first()


def logsource_choices() -> dict[str, list[str]]:
    """The distinct products, categories and services of live rules, for select boxes (1 query, from the
    log-source summary table)."""
    choices = {key: set() for key in LOGSOURCE_KEYS}
    for values in LogsourceSummary.objects.values_list(*LOGSOURCE_KEYS):
        for key, value in zip(LOGSOURCE_KEYS, values, strict=True):
            if value:
                choices[key].add(value)
    return {key: sorted(values) for key, values in choices.items()}


def field_indicators(name: str):
    """The listed indicators on a field, most used first."""
    return listed_indicators().filter(field=name).order_by(*ORDER)


def field_rules(name: str):
    """Live rules that look at a field, for pagination.

    A correlated EXISTS, not `pk IN (rules on the field)`: the page then walks the live rules in title
    order (an index) and stops at the page's end, where the IN list made SQLite read every rule on a
    common field first (CommandLine at 20x SigmaHQ: 1.3 s against 7 ms).
    """
    on_field = RuleIndicator.objects.filter(rule_id=OuterRef("pk"), indicator__field=name)
    return listing(Rule.objects.live().filter(Exists(on_field)).order_by("sort_title", "pk"))


def field_logsources(name: str) -> list[dict]:
    """Where a field is used: {product, category, service, rules, rules_looking, rules_excluding} of its live
    rules, most used first (1 query, from the summary table). A rule has one log source, so the rows' counts
    add up to the field's.
    """
    return list(
        FieldSummary.objects.filter(whole=False, field=name)
        .values(*LOGSOURCE_KEYS, "rules", "rules_looking", "rules_excluding")
        .order_by("-rules", *LOGSOURCE_KEYS)
    )
