"""The read path, shared by the HTML views and the API.

Every function here answers one page's question with a fixed number of SQL queries, whatever
the size of the rule or of the catalog: aggregates are computed by the database, related rows
come through select_related / prefetch_related, long lists are sliced or paginated by the caller.
Two visibility rules hold everywhere:

* hidden rules (a curator's decision) never appear: `public_rules()` is the only entry point;
* retired rules (gone from their repository) keep their page, but listings and counts show the
  live catalog (`live_rules()`), like the indicators' corpus counts do.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Case, CharField, Count, F, IntegerField, Prefetch, Q, Value, When
from django.db.models.functions import Coalesce, NullIf, Substr

from catalog.models import (
    LEVELS,
    EventType,
    Indicator,
    Predicate,
    Rule,
    RuleIndicator,
    RuleReference,
    Stage,
    Tactic,
    Technique,
)
from catalog.queries.filters import SORTS, RuleFilterSet
from catalog.reference import attack

KEYWORDS_SLUG = "-keywords-"  # URL stand-in for the field-less (keyword) indicators, whose field is ''
COMMON_INDICATOR = 10  # corpus count from which an indicator counts as widely used
SIMILAR_LIMIT = 10
RECENT_LIMIT = 10
FACET_LIMIT = 40  # choices shown per facet (the most frequent; active ones always)


# -- visibility --------------------------------------------------------------------------------
def public_rules():
    """Every rule a visitor may see: hidden rules are left out of every public page and API."""
    return Rule.objects.filter(hidden=False)


def live_rules():
    """Public rules still present in their repository: what listings and counts are about."""
    return public_rules().filter(retired=False)


# -- levels and sorting ------------------------------------------------------------------------
def effective_level():
    """SQL for Rule.effective_level: a curator's level_override wins over the rule's level."""
    return Coalesce(NullIf("level_override", Value("")), "level", output_field=CharField())


def with_level_rank(queryset):
    """Annotate `level_rank` (informational=0 .. critical=4, unknown=-1) for sorting by level."""
    whens = [
        When(Q(level_override=lvl) | Q(level_override="", level=lvl), then=Value(i)) for i, lvl in enumerate(LEVELS)
    ]
    return queryset.annotate(level_rank=Case(*whens, default=Value(-1), output_field=IntegerField()))


def sorted_rules(queryset, sort: str | None):
    """Order a rule queryset by one of filters.SORTS (title when no sort is asked).

    Rules without a date sort last both ways, on every database (PostgreSQL puts NULLs first
    when descending, SQLite when ascending).
    """
    if sort in SORTS:
        return with_level_rank(queryset).order_by(*(_nulls_last(term) for term in SORTS[sort]), "pk")
    return queryset.order_by("title", "pk")


def _nulls_last(term: str):
    column = F(term.lstrip("-"))
    return column.desc(nulls_last=True) if term.startswith("-") else column.asc(nulls_last=True)


def rule_filterset(data, queryset=None) -> RuleFilterSet:
    """The shared RuleFilterSet over public rules (retired ones only when `retired` is asked)."""
    return RuleFilterSet(data, queryset=public_rules() if queryset is None else queryset)


def filtered_rules(filterset: RuleFilterSet):
    """The filterset's rules, sorted as asked, with what a listing row shows (one extra query)."""
    queryset = sorted_rules(filterset.qs, _cleaned(filterset).get("sort"))
    return listing(queryset)


def listing(queryset):
    """A rule queryset ready for a listing table: source joined, techniques in one query."""
    return queryset.select_related("source").prefetch_related("techniques")


# -- facets ------------------------------------------------------------------------------------
@dataclass
class FacetChoice:
    value: str
    label: str
    count: int
    active: bool = False
    href: str = ""  # the current query with this choice set (or, when active, removed)


@dataclass
class Facet:
    name: str  # the RuleFilterSet parameter this facet sets
    label: str
    choices: list[FacetChoice] = field(default_factory=list)
    total: int = 0  # distinct choices before the cut to FACET_LIMIT


FACETS = [
    ("status", "Status"),
    ("level", "Level"),
    ("product", "Product"),
    ("category", "Category"),
    ("service", "Service"),
    ("tactic", "Tactic"),
    ("technique", "Technique"),
    ("tag", "Tag"),
    ("author", "Author"),
    ("source", "Source"),
    ("retired", "Retired"),
]


def rule_facets(filterset: RuleFilterSet) -> list[Facet]:
    """Counts beside every choice of every facet, in three queries whatever the filters.

    A count is the number of rules matching the current filters that also have that choice,
    so following a choice's link leads to exactly that many rules. The matching rules' facet
    columns are read once (with retired ones, for the retired facet) and counted here: one
    aggregate query per facet would repeat the search's text scan a dozen times.
    """
    data = _cleaned(filterset)
    active = {name: _active_values(data.get(name)) for name, _ in FACETS}
    rows = _facet_rows(filterset)
    wanted_retired = data.get("retired")
    matching = (
        [row for row in rows if row[-1] == bool(wanted_retired)]
        if wanted_retired is not None
        else [row for row in rows if not row[-1]]
    )
    pks = {row[0] for row in matching}
    counted = {
        "status": _count(row[1] for row in matching),
        "level": _level_order(_count(row[3] or row[2] for row in matching)),
        "product": _count(row[4] for row in matching),
        "category": _count(row[5] for row in matching),
        "service": _count(row[6] for row in matching),
        "tag": _count(tag for row in matching for tag in row[7].split("|") if tag),
        "author": _count(name for row in matching for name in _authors(row[8])),
        "source": _count(row[9] for row in matching),
        "retired": [
            (value, label, n)
            for flag, value, label in ((False, "false", "live"), (True, "true", "retired"))
            for n in [sum(1 for row in rows if row[-1] is flag)]
            if n
        ],
    }
    through = Rule.tactics.through.objects.values_list("rule_id", "tactic__shortname", "tactic__name")
    counted["tactic"] = _count_labelled((short, name) for rule_id, short, name in through if rule_id in pks)
    through = Rule.techniques.through.objects.values_list("rule_id", "technique__technique_id", "technique__name")
    counted["technique"] = _count_labelled(
        (tid, f"{tid} {name}".strip()) for rule_id, tid, name in through if rule_id in pks
    )
    facets = []
    for name, label in FACETS:
        choices = [
            FacetChoice(str(v), lbl, n, str(v).lower() in active[name])
            for v, lbl, n in counted[name]
            if v not in ("", None)
        ]
        shown = [c for i, c in enumerate(choices) if i < FACET_LIMIT or c.active]
        _link(shown, name, filterset.data)
        facets.append(Facet(name, label, shown, len(choices)))
    return facets


def _link(choices: list[FacetChoice], name: str, query) -> None:
    """Each choice's link: the current query (back on page 1) with `name` set to it, or removed.

    Built here once per facet rather than per choice in the template: a list page has hundreds.
    """
    params = query.copy() if hasattr(query, "copy") else dict(query)
    for ignored in ("page", name):
        params.pop(ignored, None)
    rest = params.urlencode() if hasattr(params, "urlencode") else urlencode(params, doseq=True)
    without = "?" + rest
    joiner = "&" if rest else ""
    for choice in choices:
        choice.href = without if choice.active else f"{without}{joiner}{urlencode({name: choice.value})}"


def _facet_rows(filterset: RuleFilterSet) -> list[tuple]:
    """Facet columns of the rules matching every filter but `retired` (the retired facet needs both)."""
    others = RuleFilterSet(_without_retired(filterset.data), queryset=filterset.queryset)
    _cleaned(others)
    return list(
        others.filter_queryset(others.queryset.all())
        .order_by()
        .values_list(
            "pk",
            "status",
            "level",
            "level_override",
            "product",
            "category",
            "service",
            "tag_text",
            "author",
            "source__name",
            "retired",
        )
    )


def _without_retired(data):
    data = data.copy()
    data.pop("retired", None)
    return data


def _count(values) -> list[tuple]:
    counts = Counter(values)
    return [(v, v, n) for v, n in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))]


def _count_labelled(pairs) -> list[tuple]:
    counts, labels = Counter(), {}
    for value, label in pairs:
        counts[value] += 1
        labels[value] = label
    return [(v, labels[v], n) for v, n in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))]


def _level_order(rows: list[tuple]) -> list[tuple]:
    counts = {v: n for v, _, n in rows}
    ordered = [lvl for lvl in reversed(LEVELS) if lvl in counts] + sorted(set(counts) - set(LEVELS))
    return [(lvl, lvl, counts[lvl]) for lvl in ordered]


def _authors(text: str) -> set[str]:
    return {name.strip() for name in text.replace(" and ", ",").split(",") if name.strip()}


def _cleaned(filterset) -> dict:
    """The valid part of a filterset's input: an invalid parameter is reported and ignored."""
    if not filterset.is_bound:
        return {}
    filterset.is_valid()  # runs validation
    return getattr(filterset.form, "cleaned_data", {})


def _active_values(value) -> set[str]:
    if value in (None, "", []):
        return set()
    if isinstance(value, bool):
        return {str(value).lower()}
    if isinstance(value, (list, tuple)):
        return {str(v).lower() for v in value}
    return {str(value).lower()}


# -- overview ----------------------------------------------------------------------------------
def overview() -> dict:
    """The front page: catalog totals, coverage by tactic and the latest changes (5 queries)."""
    live = live_rules()
    totals = live.aggregate(
        rules=Count("pk", distinct=True),
        techniques=Count("techniques", distinct=True),
        events=Count("events", distinct=True),
    )
    totals["indicators"] = Indicator.objects.filter(corpus_count__gt=0).count()
    return {
        "totals": totals,
        "tactics": tactic_counts(),
        "recent": list(listing(live.filter(modified__isnull=False).order_by("-modified", "title"))[:RECENT_LIMIT]),
    }


def tactic_counts():
    """Every tactic with the number of live rules tagged with it, kill-chain order, legacy last."""
    return list(
        Tactic.objects.annotate(
            n=Count("rules", filter=Q(rules__hidden=False, rules__retired=False), distinct=True)
        ).order_by("legacy", "order", "shortname")
    )


# -- the rule page -----------------------------------------------------------------------------
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


def rule_page(rule_uuid) -> RulePage | None:
    """Everything the rule page shows, in 10 queries for any rule; None for unknown or hidden."""
    rule = (
        public_rules()
        .select_related("source")
        .prefetch_related(
            "tactics",
            "techniques",
            "events",
            Prefetch(
                "stages",
                queryset=Stage.objects.order_by("index").prefetch_related(
                    Prefetch("predicates", queryset=Predicate.objects.order_by("position"))
                ),
            ),
            Prefetch(
                "rule_indicators", queryset=RuleIndicator.objects.select_related("indicator").order_by("position")
            ),
        )
        .filter(uuid=rule_uuid)
        .first()
    )
    if rule is None:
        return None
    related = [
        RuleLink(str(r.get("id", "")).lower(), str(r.get("type", ""))) for r in rule.related if isinstance(r, dict)
    ]
    targets = [RuleLink(str(t).lower()) for t in [*rule.correlation.get("rules", []), *rule.filter_rules]]
    _resolve(rule, related + targets)
    return RulePage(
        rule=rule,
        attack_rows=rule_attack_rows(rule),
        events=sorted(rule.events.all(), key=lambda e: (e.provider, e.event_id is not None, e.event_id or 0)),
        stages=list(rule.stages.all()),
        indicator_rows=indicator_rows(rule.rule_indicators.all()),
        related=related,
        targets=targets,
        involved_in=involved_in(rule),
        similar=similar_rules(rule),
    )


def rule_attack_rows(rule: Rule):
    """The ATT&CK table (tactic, techniques) from the rule's stored tactics and techniques."""
    tactics = [t.shortname for t in rule.tactics.all()]
    techniques = [t.technique_id for t in rule.techniques.all()]
    return attack.coverage_rows(tactics, techniques)


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
        public_rules()
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
    """Correlation and filter rules that name this rule by id or by name (one query)."""
    keys = [str(rule.uuid).lower()] + ([rule.name.lower()] if rule.name else [])
    refs = (
        RuleReference.objects.filter(kind__in=[RuleReference.CORRELATES, RuleReference.FILTERS], target__in=keys)
        .filter(rule__hidden=False)
        .exclude(rule=rule)
        .select_related("rule")
        .order_by("kind", "rule__title")
    )
    return [RuleLink(ref.target, ref.kind, ref.rule) for ref in refs]


def similar_rules(rule: Rule, limit: int = SIMILAR_LIMIT) -> list[dict]:
    """The live rules sharing the most indicators with this one, with the shared count (one query)."""
    mine = RuleIndicator.objects.filter(rule_id=rule.pk).values("indicator_id")
    rows = (
        RuleIndicator.objects.filter(indicator_id__in=mine, rule__hidden=False, rule__retired=False)
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


# -- indicators --------------------------------------------------------------------------------
def searched_indicators(filterset):
    """The indicator search's results, most used first, in a stable order for pagination."""
    return filterset.qs.order_by("-corpus_count", "field", "kind", "value", "pk")


def indicator_fields():
    """Every indicator field with its number of indicators, for the search form's select."""
    return list(Indicator.objects.order_by().values("field").annotate(n=Count("pk")).order_by("field"))


def indicator_rules(indicator: Indicator):
    """RuleIndicator rows of an indicator's public rules (live first), for pagination."""
    return (
        RuleIndicator.objects.filter(indicator=indicator, rule__hidden=False)
        .select_related("rule", "rule__source")
        .order_by("rule__retired", "rule__title", "rule__pk")
    )


def same_value_indicators(indicator: Indicator, limit: int = 20):
    """The same value under other fields or kinds: a hunter's next pivot (one query)."""
    return list(
        Indicator.objects.filter(value=indicator.value)
        .exclude(pk=indicator.pk)
        .order_by("-corpus_count", "field", "kind")[:limit]
    )


# -- fields ------------------------------------------------------------------------------------
def field_param(name: str) -> str:
    """The URL segment of a field: '' (keyword detections) has a stand-in."""
    return name if name else KEYWORDS_SLUG


def field_from_param(param: str) -> str:
    return "" if param == KEYWORDS_SLUG else param


def _live_rule_indicators(logsource: dict | None = None):
    queryset = RuleIndicator.objects.filter(rule__hidden=False, rule__retired=False)
    for key, value in (logsource or {}).items():
        if value:
            queryset = queryset.filter(**{f"rule__{key}": value})
    return queryset


def field_table(logsource: dict | None = None) -> list[dict]:
    """Every field with its rules and indicators, and the log sources it is used with (2 queries).

    `logsource` (product / category / service, exact values) restricts the counts to those rules.
    """
    base = _live_rule_indicators(logsource).order_by()
    rows = list(
        base.values("indicator__field")
        .annotate(rules=Count("rule_id", distinct=True), indicators=Count("indicator_id", distinct=True))
        .order_by("-rules", "indicator__field")
    )
    per_source = defaultdict(list)
    for r in (
        base.values("indicator__field", "rule__product", "rule__category", "rule__service")
        .annotate(n=Count("rule_id", distinct=True))
        .order_by("-n")
    ):
        per_source[r["indicator__field"]].append(
            {"product": r["rule__product"], "category": r["rule__category"], "service": r["rule__service"], "n": r["n"]}
        )
    return [
        {
            "field": r["indicator__field"],
            "param": field_param(r["indicator__field"]),
            "rules": r["rules"],
            "indicators": r["indicators"],
            "logsources": per_source[r["indicator__field"]][:3],
            "more_logsources": max(0, len(per_source[r["indicator__field"]]) - 3),
        }
        for r in rows
    ]


def logsource_choices() -> dict[str, list[str]]:
    """The distinct products, categories and services of live rules, for select boxes (1 query)."""
    choices = {"product": set(), "category": set(), "service": set()}
    for product, category, service in live_rules().order_by().values_list("product", "category", "service").distinct():
        for key, value in (("product", product), ("category", category), ("service", service)):
            if value:
                choices[key].add(value)
    return {key: sorted(values) for key, values in choices.items()}


def field_indicators(name: str):
    return Indicator.objects.filter(field=name).order_by("-corpus_count", "kind", "value")


def field_rules(name: str):
    """Live rules that look at a field, for pagination."""
    return listing(live_rules().filter(pk__in=RuleIndicator.objects.filter(indicator__field=name).values("rule_id")))


def field_logsources(name: str) -> list[dict]:
    """Where a field is used: log source combinations with their rule counts (1 query)."""
    return list(
        _live_rule_indicators()
        .filter(indicator__field=name)
        .order_by()
        .values("rule__product", "rule__category", "rule__service")
        .annotate(n=Count("rule_id", distinct=True))
        .order_by("-n", "rule__product", "rule__category", "rule__service")
    )


# -- ATT&CK ------------------------------------------------------------------------------------
HEAT_BUCKETS = (1, 3, 10, 30)  # rule counts from which a technique gets heat class 1..4


def heat(count: int) -> int:
    """The colour bucket of a rule count: 0 for none, up to 4 for 30 rules or more."""
    return sum(1 for floor in HEAT_BUCKETS if count >= floor)


@dataclass
class TechniqueCell:
    technique_id: str
    name: str
    known: bool
    count: int  # live rules tagging it or one of its sub-techniques
    direct: int = 0  # live rules tagging exactly this id
    subtechniques: list = field(default_factory=list)

    @property
    def heat(self) -> int:
        return heat(self.count)


def technique_counts() -> tuple[dict[str, int], dict[str, int]]:
    """(rules per technique id, rules per parent technique incl. its sub-techniques): 2 queries."""
    through = Rule.techniques.through.objects.filter(rule__hidden=False, rule__retired=False).order_by()
    direct = dict(
        through.values("technique__technique_id")
        .annotate(n=Count("rule_id", distinct=True))
        .values_list("technique__technique_id", "n")
    )
    rolled = dict(
        through.annotate(parent=Substr("technique__technique_id", 1, 5))
        .values("parent")
        .annotate(n=Count("rule_id", distinct=True))
        .values_list("parent", "n")
    )
    return direct, rolled


def attack_matrix() -> dict:
    """Tactic columns (kill-chain order, legacy after) of technique cells with rule counts: 5 queries."""
    direct, rolled = technique_counts()
    names = {tid: (name, known) for tid, name, known in Technique.objects.values_list("technique_id", "name", "known")}
    homes = defaultdict(set)
    for tid, shortname in Technique.tactics.through.objects.values_list("technique__technique_id", "tactic__shortname"):
        homes[tid].add(shortname)
    cells = _cells(names, direct, rolled)
    columns = []
    placed = set()
    for tactic in tactic_counts():
        column = sorted(
            (c for tid, c in cells.items() if tactic.shortname in homes[tid]), key=lambda c: (-c.count, c.technique_id)
        )
        placed.update(c.technique_id for c in column)
        columns.append({"tactic": tactic, "cells": column, "covered": sum(1 for c in column if c.count)})
    unplaced = sorted((c for tid, c in cells.items() if tid not in placed and c.count), key=lambda c: c.technique_id)
    return {"columns": columns, "unplaced": unplaced, "buckets": HEAT_BUCKETS}


def _cells(names, direct, rolled) -> dict[str, TechniqueCell]:
    """Parent techniques as cells, each holding its covered sub-techniques."""
    cells = {}
    for tid, (name, known) in names.items():
        if "." not in tid:
            cells[tid] = TechniqueCell(tid, name, known, rolled.get(tid, 0), direct.get(tid, 0))
    for tid, (name, known) in sorted(names.items()):
        if "." in tid and direct.get(tid):
            parent = cells.get(tid.split(".")[0])
            sub = TechniqueCell(tid, name, known, direct[tid], direct[tid])
            if parent is not None:
                parent.subtechniques.append(sub)
            else:
                cells[tid] = sub
    return cells


def technique_detail(technique_id: str) -> dict | None:
    """A technique, its tactics, parent and sub-techniques with rule counts (5 queries)."""
    technique = Technique.objects.prefetch_related("tactics").filter(technique_id=technique_id.upper()).first()
    if technique is None:
        return None
    direct, rolled = technique_counts()
    parent_id = technique.technique_id.split(".")[0]
    related = {
        t.technique_id: t
        for t in Technique.objects.filter(Q(technique_id=parent_id) | Q(technique_id__startswith=parent_id + "."))
    }
    subs = [
        TechniqueCell(t.technique_id, t.name, t.known, direct.get(t.technique_id, 0), direct.get(t.technique_id, 0))
        for tid, t in sorted(related.items())
        if tid.startswith(technique.technique_id + ".")
    ]
    return {
        "technique": technique,
        "tactics": list(technique.tactics.all()),
        "parent": related.get(parent_id) if parent_id != technique.technique_id else None,
        "subtechniques": subs,
        "count": rolled.get(technique.technique_id, 0)
        if "." not in technique.technique_id
        else direct.get(technique.technique_id, 0),
        "mitre_url": mitre_url(technique) if technique.known else "",
    }


def mitre_url(technique: Technique) -> str:
    """The technique's page on attack.mitre.org (T1059.001 -> /techniques/T1059/001/)."""
    return "https://attack.mitre.org/techniques/" + technique.technique_id.replace(".", "/") + "/"


def tactic_detail(shortname: str) -> dict | None:
    """A tactic with its techniques (rolled-up counts, as in the matrix): 5 queries."""
    tactic = Tactic.objects.filter(shortname=shortname.lower()).first()
    if tactic is None:
        return None
    direct, rolled = technique_counts()
    techniques = Technique.objects.filter(tactics=tactic).exclude(technique_id__contains=".")
    cells = sorted(
        (
            TechniqueCell(t.technique_id, t.name, t.known, rolled.get(t.technique_id, 0), direct.get(t.technique_id, 0))
            for t in techniques
        ),
        key=lambda c: (-c.count, c.technique_id),
    )
    return {"tactic": tactic, "cells": cells}


# -- events and log sources ----------------------------------------------------------------------
def event_table():
    """Every event type with its live rule count, by provider then event id (1 query)."""
    return list(
        EventType.objects.annotate(
            n=Count("rules", filter=Q(rules__hidden=False, rules__retired=False), distinct=True)
        ).order_by("provider", "event_id")
    )


def event_type(provider: str, event: str) -> EventType | None:
    """The event type of a URL: event is a number or 'any' for a channel-wide row."""
    if event == "any":
        return EventType.objects.filter(provider=provider, event_id__isnull=True).first()
    if not event.isdigit():
        return None
    return EventType.objects.filter(provider=provider, event_id=int(event)).first()


def event_param(event_id: int | None) -> str:
    return "any" if event_id is None else str(event_id)


def logsource_table():
    """Product / category / service combinations of live rules with their counts (1 query)."""
    return list(
        live_rules()
        .order_by()
        .values("product", "category", "service")
        .annotate(n=Count("pk"))
        .order_by("product", "category", "service")
    )
