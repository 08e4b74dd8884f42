"""The ATT&CK matrix and the blind spots of a profile's coverage (catalog.coverage.runnable).

Counts are of runnable rules (sub-techniques rolled up into their technique, as on /attack/); a
technique is *blind* when the catalog has live rules for it but the profile runs none of them.
The tactic layout is ATT&CK's own, from the bundled ATT&CK data (no query).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from catalog.browse.queries.attack import heat
from catalog.core.reference import attack


@dataclass
class Cell:
    technique_id: str
    name: str
    count: int  # runnable rules
    total: int  # live rules in the catalog
    suggestions: list = field(default_factory=list)
    subs_total: int = 0  # sub-techniques with rules in the catalog
    subs_covered: int = 0  # ... and with a runnable one

    @property
    def heat(self) -> int:
        return heat(self.count)

    @property
    def blind(self) -> bool:
        return self.total > 0 and self.count == 0


@cache
def _layout():
    """ATT&CK's tactics in matrix order, each with its techniques (bundled data, catalog.core.reference.attack)."""
    data = attack.load()
    names = {tid: t.name for tid, t in data.techniques.items()}
    homes = defaultdict(set)
    for technique in data.techniques.values():
        for shortname in technique.tactics:
            homes[shortname].add(technique.technique_id)
    tactics = sorted(data.tactics.values(), key=lambda t: (t.legacy, t.order, t.shortname))
    parents = {shortname: sorted(t for t in ids if "." not in t) for shortname, ids in homes.items()}
    return names, homes, parents, tactics


def _cell(coverage, names, technique_id: str) -> Cell:
    return Cell(
        technique_id,
        names.get(technique_id, ""),
        coverage.runnable.get(technique_id, 0),
        coverage.total.get(technique_id, 0),
        suggestions=coverage.suggestions.get(technique_id, []),
    )


def coverage_matrix(coverage, uncovered_only: bool = False) -> list[dict]:
    """Tactic columns of technique cells (runnable / catalog rules); `uncovered_only`: no runnable rule."""
    names, homes, parents, tactics = _layout()
    subs_of = defaultdict(list)
    for technique_id in sorted(names):
        if "." in technique_id and coverage.total.get(technique_id):
            subs_of[technique_id.split(".")[0]].append(technique_id)
    columns = []
    for tactic in tactics:
        ids = parents.get(tactic.shortname, [])
        if not ids:
            continue
        cells = []
        runnable, total = coverage.runnable, coverage.total
        for technique_id in ids:
            subs = subs_of[technique_id]
            count = runnable.get(technique_id, 0)
            covered_subs = sum(1 for t in subs if runnable.get(t))
            if uncovered_only and count and covered_subs == len(subs):
                continue
            name = names.get(technique_id, "")
            cells.append(Cell(technique_id, name, count, total.get(technique_id, 0), [], len(subs), covered_subs))
        cells.sort(key=lambda c: (-c.count, -c.total, c.technique_id))
        covered = sum(1 for t in ids if coverage.runnable.get(t))
        columns.append({"tactic": tactic, "cells": cells, "covered": covered, "techniques": len(ids)})
    return columns


def blind_spots(coverage) -> list[dict]:
    """Per tactic, the techniques and sub-techniques with catalog rules but none runnable, and what would cover them."""
    names, homes, parents, tactics = _layout()
    blind = sorted(coverage.blind)
    result = []
    for tactic in tactics:
        ids = homes[tactic.shortname]
        cells = [_cell(coverage, names, t) for t in blind if t in ids or t.split(".")[0] in ids]
        if cells:
            cells.sort(key=lambda c: (-c.total, c.technique_id))
            result.append({"tactic": tactic, "cells": cells})
    return result
