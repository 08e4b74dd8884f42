"""The rule list's facets: every choice of every filter with the number of rules it would leave."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from catalog.models import LEVELS, Rule
from catalog.queries.filters import RuleFilterSet
from catalog.queries.rules import cleaned

FACET_LIMIT = 40  # choices shown per facet (the most frequent; active ones always)


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
    """Counts beside every choice of every facet, in three queries plus one per facet in use.

    A count is the number of rules matching the current filters that also have that choice, so
    following a choice's link leads to exactly that many rules. Values of one facet are OR-ed, so
    the choices of a facet in use are counted without that facet's own filter (the rules a second
    value's link adds): one more read for each facet in use. The matching rules' facet columns are
    read once (with retired ones, for the retired facet) and counted here: one aggregate query per
    facet would repeat the search's text scan a dozen times.
    """
    data = cleaned(filterset)
    active = {name: _active_values(data.get(name)) for name, _ in FACETS}
    rows = _facet_rows(filterset.data, filterset)
    wanted_retired = data.get("retired")
    row_sets = {None: rows}
    for name, _ in FACETS:
        if active[name] and name != "retired":  # OR-ed: this facet's choices are counted without its own filter
            row_sets[name] = _facet_rows(_without(filterset.data, name), filterset)
    tactics, techniques = _attack_rows({row[0] for rows_of in row_sets.values() for row in rows_of})
    counted = _counted(_matching(rows, wanted_retired), tactics, techniques)
    counted["retired"] = [
        (value, label, n)
        for flag, value, label in ((False, "false", "live"), (True, "true", "retired"))
        for n in [sum(1 for row in rows if row[-1] is flag)]
        if n
    ]
    for name, rows_of in row_sets.items():
        if name is not None:
            counted[name] = _counted(_matching(rows_of, wanted_retired), tactics, techniques)[name]
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
    """Each choice's link: the current query (back on page 1) with the choice added to `name`'s values
    (several values of one facet are OR-ed), or, when active, with just that value removed.

    Built here once per facet rather than per choice in the template: a list page has hundreds.
    """
    params = query.copy() if hasattr(query, "copy") else dict(query)
    params.pop("page", None)
    current = params.getlist(name) if hasattr(params, "getlist") else _as_list(params.get(name))
    params.pop(name, None)
    rest = params.urlencode() if hasattr(params, "urlencode") else urlencode(params, doseq=True)
    joiner = "&" if rest else ""
    for choice in choices:
        if choice.active:
            values = [v for v in current if v.lower() != choice.value.lower()]
        elif name == "retired":  # a yes/no facet: a second value would be contradictory
            values = [choice.value]
        else:
            values = [*current, choice.value]
        encoded = urlencode({name: values}, doseq=True)
        choice.href = "?" + rest + (joiner + encoded if encoded else "")


def _as_list(value) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


ATTACK_ROWS_BY_ID = 2000  # more matching rules than this: the through tables are read whole (one scan)


def _attack_rows(pks: set[int]) -> tuple[list, list]:
    """(rule, tactic) and (rule, technique) rows of these rules: only theirs when few (a search), else all."""
    tactics = Rule.tactics.through.objects.values_list("rule_id", "tactic__shortname", "tactic__name")
    techniques = Rule.techniques.through.objects.values_list("rule_id", "technique__technique_id", "technique__name")
    if len(pks) <= ATTACK_ROWS_BY_ID:
        tactics, techniques = tactics.filter(rule_id__in=pks), techniques.filter(rule_id__in=pks)
    return list(tactics), list(techniques)


def _matching(rows: list[tuple], wanted_retired) -> list[tuple]:
    if wanted_retired is not None:
        return [row for row in rows if row[-1] == bool(wanted_retired)]
    return [row for row in rows if not row[-1]]


def _counted(matching: list[tuple], tactics: list[tuple], techniques: list[tuple]) -> dict[str, list[tuple]]:
    pks = {row[0] for row in matching}
    return {
        "status": _count(row[1] for row in matching),
        "level": _level_order(_count(row[3] or row[2] for row in matching)),
        "product": _count(row[4] for row in matching),
        "category": _count(row[5] for row in matching),
        "service": _count(row[6] for row in matching),
        "tag": _count(tag for row in matching for tag in row[7].split("|") if tag),
        "author": _count(name for row in matching for name in _authors(row[8])),
        "source": _count(row[9] for row in matching),
        "tactic": _count_labelled((short, name) for rule_id, short, name in tactics if rule_id in pks),
        "technique": _count_labelled(
            (tid, f"{tid} {name}".strip()) for rule_id, tid, name in techniques if rule_id in pks
        ),
    }


def _without(data, name: str):
    data = data.copy()
    data.pop(name, None)
    return data


def _facet_rows(data, filterset: RuleFilterSet) -> list[tuple]:
    """Facet columns of the rules matching every filter of `data` but `retired` (the retired facet needs both)."""
    others = RuleFilterSet(_without_retired(data), queryset=filterset.queryset)
    cleaned(others)
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


def _active_values(value) -> set[str]:
    if value in (None, "", []):
        return set()
    if isinstance(value, bool):
        return {str(value).lower()}
    if isinstance(value, (list, tuple)):
        return {str(v).lower() for v in value}
    return {str(value).lower()}
