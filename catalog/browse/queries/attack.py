"""ATT&CK coverage: tactics and techniques with their live rule counts, the matrix, a technique, a tactic.

/attack/ and /api/attack/ (and their detail pages) read the same two querysets,
`tactics_with_counts()` and `techniques_with_counts()`; the pages arrange them into a matrix,
the API pages through them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from catalog.models import CountSummary, Tactic, Technique

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


def tactics_with_counts():
    """Every tactic with `rule_count`, its live rules; kill-chain order, legacy tactics last (1 query)."""
    return Tactic.objects.annotate(rule_count=summarized("tactic", OuterRef("shortname"))).order_by(
        "legacy", "order", "shortname"
    )


def techniques_with_counts():
    """Techniques with `rule_count` (live rules tagged with exactly this id) and `rolled_count` (or a sub-technique).

    Both are read from the summary table (catalog.publishing.summaries), one indexed lookup per technique
    shown, so one technique, one tactic's or the matrix costs what it shows, whatever the corpus size.
    A sub-technique's rolled count is its own (it has no sub-techniques).
    """
    direct = _summary("technique", OuterRef("technique_id"))
    rolled = _summary("technique_rolled", OuterRef("technique_id"))
    return Technique.objects.annotate(
        rule_count=Coalesce(direct, 0), rolled_count=Coalesce(rolled, direct, 0)
    ).order_by("technique_id")


def summarized(kind: str, key):
    """The stored count of (kind, key) as a subquery, 0 when none is stored."""
    return Coalesce(_summary(kind, key), 0)


def _summary(kind: str, key):
    return Subquery(CountSummary.objects.filter(kind=kind, key=key).values("count")[:1])


def attack_matrix() -> dict:
    """Tactic columns (kill-chain order, legacy after) of technique cells with rule counts: 3 queries."""
    techniques = list(techniques_with_counts())
    homes = defaultdict(set)  # read as plain pairs: a prefetch of ~700 techniques' tactics costs 50 ms more
    for technique_id, shortname in Technique.tactics.through.objects.values_list(
        "technique__technique_id", "tactic__shortname"
    ):
        homes[technique_id].add(shortname)
    cells = _cells(techniques)
    columns = []
    placed = set()
    for tactic in tactics_with_counts():
        column = sorted(
            (c for tid, c in cells.items() if tactic.shortname in homes[tid]), key=lambda c: (-c.count, c.technique_id)
        )
        placed.update(c.technique_id for c in column)
        columns.append({"tactic": tactic, "cells": column, "covered": sum(1 for c in column if c.count)})
    unplaced = sorted((c for tid, c in cells.items() if tid not in placed and c.count), key=lambda c: c.technique_id)
    return {"columns": columns, "unplaced": unplaced, "buckets": HEAT_BUCKETS}


def _cells(techniques) -> dict[str, TechniqueCell]:
    """Parent techniques as cells, each holding its covered sub-techniques (in id order)."""
    cells = {}
    for t in techniques:
        if "." not in t.technique_id:
            cells[t.technique_id] = TechniqueCell(t.technique_id, t.name, t.known, t.rolled_count, t.rule_count)
    for t in sorted(techniques, key=lambda t: t.technique_id):
        if "." in t.technique_id and t.rule_count:
            parent = cells.get(t.technique_id.split(".")[0])
            sub = TechniqueCell(t.technique_id, t.name, t.known, t.rule_count, t.rule_count)
            if parent is not None:
                parent.subtechniques.append(sub)
            else:
                cells[t.technique_id] = sub
    return cells


def technique_detail(technique_id: str) -> dict | None:
    """A technique, its tactics, parent and sub-techniques with rule counts (2 queries); None if unknown."""
    wanted = technique_id.upper()
    parent_id = wanted.split(".")[0]
    in_family = Q(technique_id=parent_id) | Q(technique_id__startswith=parent_id + ".")
    family = {t.technique_id: t for t in techniques_with_counts().filter(in_family)}
    technique = family.get(wanted)
    if technique is None:
        return None
    subs = [
        TechniqueCell(t.technique_id, t.name, t.known, t.rule_count, t.rule_count)
        for tid, t in sorted(family.items())
        if tid.startswith(wanted + ".")
    ]
    return {
        "technique": technique,
        "tactics": list(technique.tactics.all()),
        "parent": family.get(parent_id) if parent_id != wanted else None,
        "subtechniques": subs,
        "count": technique.rolled_count if "." not in wanted else technique.rule_count,
        "mitre_url": mitre_url(technique) if technique.known else "",
    }


def mitre_url(technique: Technique) -> str:
    """The technique's page on attack.mitre.org (T1059.001 -> /techniques/T1059/001/)."""
    return "https://attack.mitre.org/techniques/" + technique.technique_id.replace(".", "/") + "/"


def tactic_named(shortname: str) -> Tactic | None:
    """A tactic by its shortname (any case), with `rule_count` (1 query)."""
    return tactics_with_counts().filter(shortname=shortname.lower()).first()


def tactic_techniques(tactic: Tactic):
    """The techniques (sub-techniques included) ATT&CK files under a tactic, with their rule counts."""
    return techniques_with_counts().filter(tactics=tactic)


def tactic_detail(shortname: str) -> dict | None:
    """A tactic with its techniques (rolled-up counts, as in the matrix): 2 queries; None if unknown."""
    found = tactic_named(shortname)
    if found is None:
        return None
    cells = sorted(
        (
            TechniqueCell(t.technique_id, t.name, t.known, t.rolled_count, t.rule_count)
            for t in tactic_techniques(found)
            if "." not in t.technique_id
        ),
        key=lambda c: (-c.count, c.technique_id),
    )
    return {"tactic": found, "cells": cells}


def uncovered_only(detail: dict) -> dict:
    """/attack/ or a tactic page (catalog.browse.queries.attack's dicts) with `?uncovered=1`: techniques
    no rule covers."""
    if "columns" in detail:
        detail["columns"] = [
            {**column, "cells": [c for c in column["cells"] if not c.count]} for column in detail["columns"]
        ]
    if "cells" in detail:
        detail["cells"] = [c for c in detail["cells"] if not c.count]
    detail["uncovered_only"] = True
    return detail
