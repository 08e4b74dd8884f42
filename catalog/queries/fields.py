"""Fields: every field that live rules test, with its rules, indicators and log sources.

/fields/ and /api/fields/ read `field_counts()`; a field's page and /api/fields/<name>/ read
`field_logsources()`. The field-less (keyword) detections are the field '' (KEYWORDS_SLUG in URLs).
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, F, Q

from catalog.models import Rule, RuleIndicator, live_rules_q
from catalog.queries.indicators import EXCLUDED, LOOKED_FOR, ORDER, listed_indicators
from catalog.queries.rules import listing

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


def field_counts(logsource: dict | None = None):
    """Per field, most used first (1 query): `rules` (live rules testing it), `indicators` (distinct ones),
    and the two apart: `rules_looking` (rules looking for a value of it), `rules_excluding` (rules excluding one).
    """
    return (
        live_rule_indicators(logsource)
        .order_by()
        .values(field=F("indicator__field"))
        .annotate(
            rules=Count("rule_id", distinct=True),
            indicators=Count("indicator_id", distinct=True),
            rules_looking=Count("rule_id", distinct=True, filter=Q(polarity__in=LOOKED_FOR)),
            rules_excluding=Count("rule_id", distinct=True, filter=Q(polarity__in=EXCLUDED)),
        )
        .order_by("-rules", "field")
    )


def field_table(logsource: dict | None = None) -> list[dict]:
    """Every field with its counts and the log sources it is used with (2 queries)."""
    rows = list(field_counts(logsource))
    per_source = defaultdict(list)
    for r in (
        live_rule_indicators(logsource)
        .order_by()
        .values("indicator__field", "rule__product", "rule__category", "rule__service")
        .annotate(n=Count("rule_id", distinct=True))
        .order_by("-n")
    ):
        per_source[r["indicator__field"]].append(
            {"product": r["rule__product"], "category": r["rule__category"], "service": r["rule__service"], "n": r["n"]}
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


def field_summary(name: str) -> dict | None:
    """One field's `rules` and `indicators` counts; None when no live rule tests it (1 query)."""
    return field_counts().filter(indicator__field=name).order_by("field").first()


def logsource_choices() -> dict[str, list[str]]:
    """The distinct products, categories and services of live rules, for select boxes (1 query)."""
    choices = {key: set() for key in LOGSOURCE_KEYS}
    for values in Rule.objects.live().order_by().values_list(*LOGSOURCE_KEYS).distinct():
        for key, value in zip(LOGSOURCE_KEYS, values, strict=True):
            if value:
                choices[key].add(value)
    return {key: sorted(values) for key, values in choices.items()}


def field_indicators(name: str):
    """The listed indicators on a field, most used first."""
    return listed_indicators().filter(field=name).order_by(*ORDER)


def field_rules(name: str):
    """Live rules that look at a field, for pagination."""
    on_field = RuleIndicator.objects.filter(indicator__field=name).values("rule_id")
    return listing(Rule.objects.live().filter(pk__in=on_field).order_by("title", "pk"))


def field_logsources(name: str) -> list[dict]:
    """Where a field is used: {product, category, service, rules, rules_looking, rules_excluding} of its live
    rules, most used first (1 query). A rule has one log source, so the rows' counts add up to the field's.
    """
    return list(
        live_rule_indicators()
        .filter(indicator__field=name)
        .order_by()
        .values(product=F("rule__product"), category=F("rule__category"), service=F("rule__service"))
        .annotate(
            rules=Count("rule_id", distinct=True),
            rules_looking=Count("rule_id", distinct=True, filter=Q(polarity__in=LOOKED_FOR)),
            rules_excluding=Count("rule_id", distinct=True, filter=Q(polarity__in=EXCLUDED)),
        )
        .order_by("-rules", "product", "category", "service")
    )
