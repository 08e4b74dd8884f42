"""The rule list's facet counts: how many of the rules a list matches have each choice, exact at any size.

Counted over the mask of the matching rules with the per-catalog-version rule index
(catalog.browse.queries.rule_index): one numpy `bincount` of each group's codes under the mask (the scalar
facets together, tags, authors, tactics, techniques), then each distinct value's count is spread over its
choices here (a tag list over its tags, a rule's set of tactics over the tactics). The work grows with
the number of rule ids in vectorised passes and with the number of distinct values in Python, never with
a read of a rule's row: at 20x SigmaHQ `?q=powershell` (12,820 rules) is counted in a few milliseconds,
where the `GROUP BY` over the rows it replaces took 75-170 ms for the first 10,000 (the facets were
capped there, and the whole catalog's summary counted only 10,000 of its 75,600 rules).
"""

from __future__ import annotations

import functools
from collections import Counter

from catalog.browse.queries import stored_counts
from catalog.browse.queries.rule_index import LIVE, RETIRED, SCALARS, RuleIndex
from catalog.models import LEVELS

YES_NO = {  # yes/no facets: their values in display order, with labels
    "retired": {"false": "live", "true": "retired"},
    "has_test_events": {"true": "with logged test events", "false": "without"},
}
PLAIN = ("status", "level", "product", "category", "service", "source", "quality")  # in the "scalar" group
GROUPED = ("tag", "author", "tactic", "technique")  # a group each, whose values hold several choices
QUALITY_LABELS = {"high": "high", "medium": "medium", "low": "low only", "clean": "no findings"}  # worst first


def counts(index: RuleIndex, chosen, names: list[str], wanted_retired: bool | None) -> dict[str, list[tuple]]:
    """{facet: [(value, label, count), ...] most frequent first} for `names`, over the public rules of the mask
    `chosen` (every public rule when None) that are retired as `wanted_retired` asks (None: live ones); the
    `retired` facet counts both."""
    codes, tested, states = index.counted(chosen, RETIRED if wanted_retired else LIVE)
    rows: dict[str, list[tuple]] = {}
    scalars = index.groups["scalar"].values
    for name in names:
        if name in PLAIN:
            position, per_value = SCALARS.index(name), {}
            for code, n in codes["scalar"].items():
                value = scalars[code][position]
                per_value[value] = per_value.get(value, 0) + n
            rows[name] = [(value, "", n) for value, n in per_value.items()]
        elif name in GROUPED:  # a rule has several: its code stands for all of them
            group, per_value = index.groups[name], {}
            split = group.split(functools.partial(_split, name))
            for code, n in codes[name].items():
                for value in split[code]:
                    per_value[value] = per_value.get(value, 0) + n
            labels = index.labels.get(name, {})
            rows[name] = [(value, labels.get(value, ""), n) for value, n in per_value.items()]
        elif name == "has_test_events":
            shown = sum(codes["scalar"].values())
            rows[name] = [("true", "", tested), ("false", "", shown - tested)]
        elif name == "retired":
            rows[name] = [("false", "", states[LIVE]), ("true", "", states[RETIRED])]
    return {name: _ordered(name, rows[name], split=False) for name in names}


def summary_counts(names: list[str]) -> dict[str, list[tuple]]:
    """What `counts(index, None, names, None)` gives, read from the summary table (1 query)."""
    stored = stored_counts.facet_rows(names)
    return {name: _ordered(name, stored[name]) for name in names}


def _ordered(name: str, rows: list[tuple], split: bool = True) -> list[tuple]:
    """Most frequent first (ties by value); levels from critical down; retired: live, then retired. `split`:
    the rows' tag and author values are whole texts, to split here."""
    if name in YES_NO:
        labels = YES_NO[name]
        return [(v, labels[v], n) for v in labels for value, _, n in rows if value == v and n]
    weighted = Counter()
    labels = {}
    for value, label, n in rows:
        for one in _split(name, value) if split else (value,):
            weighted[one] += n
            labels[one] = _label(name, one, label)
    if name == "quality":
        return [(q, label, weighted[q]) for q, label in QUALITY_LABELS.items() if weighted[q]]
    if name == "level":
        ordered = [lvl for lvl in reversed(LEVELS) if lvl in weighted] + sorted(set(weighted) - set(LEVELS), key=str)
        return [(lvl, lvl, weighted[lvl]) for lvl in ordered]
    return [(v, labels[v], n) for v, n in sorted(weighted.items(), key=lambda item: (-item[1], str(item[0])))]


def _split(name: str, value) -> list:
    """The choices a stored value holds: a tag list's tags, an author list's names, a set's members."""
    if name == "tag":
        return [tag for tag in (value or "").split("|") if tag]
    if name == "author":
        return sorted(authors(value or ""))
    return list(value) if isinstance(value, tuple) else [value]


def _label(name: str, value, label) -> str:
    """The stored label: a tactic's or technique's name (the facet shows a technique as "id name",
    composed when shown: the summary table keeps the name alone, so reading it back never doubles the id)."""
    if name in ("tactic", "technique"):
        return label or ""
    return value


def authors(text: str) -> set[str]:
    """The names of an author field ("A, B and C")."""
    return {name.strip() for name in text.replace(" and ", ",").split(",") if name.strip()}
