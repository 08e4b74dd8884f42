"""The ATT&CK matrix and the blind spots of a profile's coverage (catalog.coverage.runnable).

Counts are of runnable rules (sub-techniques rolled up into their technique, as on /attack/); a
technique is *blind* when the catalog has live rules for it but the profile runs none of them.
The tactic layout is ATT&CK's own, from the bundled ATT&CK data (no query).

Blind spots are split by platform (a rule's product, else its category or service): those with a rule
on a platform the profile collects come first, biggest first; a Windows-only profile is not told
about its blindness to AWS before its blindness on Windows. The rest are counted per platform.
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
    tactics: str = ""  # "Execution, Persistence" (the blind-spot list names them: it is not by tactic)

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


@cache
def _tactic_names() -> dict[str, str]:
    """Technique id -> its tactics' names in matrix order (a sub-technique's are its parent's)."""
    names, homes, _, tactics = _layout()
    found = defaultdict(list)
    for tactic in tactics:
        for technique_id in homes[tactic.shortname]:
            found[technique_id].append(tactic.name)
    return {technique_id: ", ".join(found[technique_id] or found[technique_id.split(".")[0]]) for technique_id in names}


def _cell(coverage, names, technique_id: str) -> Cell:
    return Cell(
        technique_id,
        names.get(technique_id, ""),
        coverage.runnable.get(technique_id, 0),
        coverage.total.get(technique_id, 0),
        suggestions=coverage.suggestions.get(technique_id, []),
        tactics=_tactic_names().get(technique_id, ""),
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


def collected_platforms(coverage) -> list[str]:
    """The platforms the profile collects: those of the rules it runs, fully or with missing fields."""
    return sorted({s.platform for s in coverage.signatures if s.via})


def blind_spots(coverage, shown: int) -> dict:
    """The blind techniques and sub-techniques, each once, biggest (most catalog rules) first.

    `cells`: those with a rule on a platform the profile collects, the first `shown` in `top` and the
    others in `more`; `elsewhere`: per other platform, its blind techniques (a technique with rules on
    two such platforms is under both), and `elsewhere_count` the techniques in none of the first.
    """
    names = _layout()[0]
    mine = set(collected_platforms(coverage))
    cells = sorted((_cell(coverage, names, t) for t in coverage.blind), key=lambda c: (-c.total, c.technique_id))
    platforms = coverage.platforms
    yours = [c for c in cells if platforms.get(c.technique_id, set()) & mine]
    others = [c for c in cells if not platforms.get(c.technique_id, set()) & mine]
    by_platform = defaultdict(list)
    for cell in others:
        for platform in sorted(platforms.get(cell.technique_id, ())):
            by_platform[platform].append(cell)
    elsewhere = [
        {"platform": platform, "cells": found}
        for platform, found in sorted(by_platform.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    return {
        "platforms": sorted(mine),
        "count": len(yours),
        "top": yours[:shown],
        "more": yours[shown:],
        "elsewhere": elsewhere,
        "elsewhere_count": len(others),
    }
