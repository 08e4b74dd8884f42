"""Every public rule's facet values as small codes, read once per catalog version and kept in each process.

The rule list counts its facets over the rules a search or filter matches, and says how many match.
Counted by the database, both read every matching rule's row: at 20x SigmaHQ `?q=powershell` matches
12,820 rules and `?level=high&level=critical` 38,080, and a `GROUP BY` over them cost 30-170 ms, which
is why the facets were counted over the first 10,000 only. Here each public rule's values are codes in
numpy arrays indexed by rule id (a code stands for one distinct value: a tag list, an author list, a rule's
set of tactics), and a list's rules are a boolean mask over rule ids (catalog.browse.queries.rule_matches):
a filter on a facet is a lookup of its values' codes, the list's facet counts a `bincount` of each group's
codes under the mask, exact at any size. Each is one vectorised pass over the rule ids, a few microseconds
per thousand rules: the Python passes per matching rule they replace (a `Counter` per group, a loop per
distinct combination of values) grew with the match, 15 ms of the 28 ms of `?level=high&level=critical` at 20x.

The index is built from the database (5 narrow queries; at 20x SigmaHQ 1.3-2.2 s of CPU, and about 2 MB per
process) by the first process that needs it for a catalog version, stored on disk for that version
(catalog.platform.version_files, beside the compiled matcher), and loaded by every other process; each keeps it
under that version: every change of the rules bumps it (catalog.publishing.versioning), so a stale index is never
read. The key is the version's number and time, so two test databases that reach the same number are never
confused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from django.db import connection

from catalog.models import Rule, RuleTestEvent, Tactic, Technique
from catalog.platform.version_files import KeptPerVersion, VersionFiles

# The columns of the "scalar" group, one value per rule: the facets, and the filters that are not facets.
SCALARS = ("status", "level", "product", "category", "service", "source", "quality", "type", "verified")
_COLUMNS = ("status", "level_shown", "product", "category", "service", "source__name", "quality", "rule_type")
LIVE, RETIRED = 1, 2  # a rule's state; 0: hidden or no such rule


class Group:
    """One group of facet values: per rule id, the code of its value; per code, the value."""

    def __init__(self, size: int, pks: np.ndarray, values: Iterable):
        known: dict = {}
        codes = [known.setdefault(value, len(known)) for value in values]  # a new value gets the next code
        self.values = list(known)  # code -> value (a tuple of SCALARS, a tag list, a tuple of names)
        self.codes = np.zeros(size, dtype=np.int32)  # rule id -> code (0 for ids that are no public rule)
        self.codes[pks] = codes
        self._split: list | None = None

    def split(self, choices) -> list:
        """code -> `choices(value)` (the choices a value holds), worked out once per index."""
        if self._split is None:
            self._split = [tuple(choices(value)) for value in self.values]
        return self._split

    def count(self, chosen: np.ndarray) -> dict[int, int]:
        """{code: rules} among the rules of the mask `chosen`, for the codes that have any."""
        counts = np.bincount(self.codes[chosen], minlength=len(self.values))
        present = np.flatnonzero(counts)
        return dict(zip(present.tolist(), counts[present].tolist(), strict=True))

    def having(self, wanted: Callable) -> np.ndarray:
        """A mask of the rule ids whose value satisfies `wanted(value)` (ids of no public rule included: the
        caller keeps the public ones)."""
        lookup = np.fromiter((bool(wanted(value)) for value in self.values), dtype=bool, count=len(self.values))
        return lookup[self.codes]


@dataclass
class RuleIndex:
    key: tuple
    state: np.ndarray  # rule id -> LIVE, RETIRED or 0 (hidden, or no such rule), uint8
    groups: dict[str, Group]  # scalar, tag (the tag_text), author (the text), tactic and technique (sorted tuples)
    tested: np.ndarray  # mask of the public rules with logged test events
    labels: dict[str, dict[str, str]]  # "tactic": {shortname: name}, "technique": {technique id: name}
    live_count: int = 0

    def frozen(self) -> RuleIndex:
        """The index with its arrays read-only: every request of the process shares them, and a change one made
        in place would reach the others (numpy then raises instead)."""
        for array in (self.state, self.tested, *(group.codes for group in self.groups.values())):
            array.flags.writeable = False
        return self

    @property
    def public(self) -> np.ndarray:
        """The mask of every public rule."""
        return self.state != 0

    def mask(self, ids: Iterable[int]) -> np.ndarray:
        """The public rules among `ids` (a set or list of rule ids; others, and ids past the index, left out)."""
        found = np.fromiter(ids, dtype=np.int64)
        found = found[(found >= 0) & (found < len(self.state))]
        chosen = np.zeros(len(self.state), dtype=bool)
        chosen[found] = True
        return chosen & self.public

    def in_state(self, chosen: np.ndarray | None, state: int) -> list[int]:
        """The rule ids of the mask `chosen` (every public rule when None) in `state`, ascending."""
        return np.flatnonzero(self._in_state(chosen, state)).tolist()

    def _in_state(self, chosen: np.ndarray | None, state: int) -> np.ndarray:
        return self.state == state if chosen is None else chosen & (self.state == state)

    def counted(self, chosen: np.ndarray | None, state: int) -> tuple[dict[str, dict[int, int]], int, dict[int, int]]:
        """Among the mask `chosen` (every public rule when None): per group, {code: rules in `state`}; how many
        of those have test events; and {state: rules}."""
        shown = self._in_state(chosen, state)
        codes = {name: group.count(shown) for name, group in self.groups.items()}
        states = np.bincount(self.state if chosen is None else self.state[chosen], minlength=RETIRED + 1)
        tested = int(np.count_nonzero(shown & self.tested))
        return codes, tested, {LIVE: int(states[LIVE]), RETIRED: int(states[RETIRED])}


# Stored per catalog version beside the compiled matcher: a process loads what the first one built (at 20x SigmaHQ
# building cost 1.3-2.2 s of CPU, most of it reading 75,600 wide rule rows; loading costs a fraction of it).
FILES = VersionFiles("rule-index", ("catalog.browse.queries.rule_index",), ("numpy",))


def current(key: tuple | None = None) -> RuleIndex:
    """The index of the catalog version the database is at (`key`: its (number, time), when the caller has read
    it: catalog.platform.fragments.state), built when this process has none for it; one thread builds it while
    others wait for it."""
    return KEPT.current(key)


def build(key: tuple = ()) -> RuleIndex:
    """Read the public rules' facet values (7 queries). Also used, not kept, by the summary tables' refresh."""
    rules = (
        Rule.objects.public().order_by("pk").values_list("pk", "retired", "verified", "tag_text", "author", *_COLUMNS)
    )
    rows = _rows(rules)  # about 75,600 at 20x SigmaHQ: no per-row conversion by the ORM
    public = np.array([row[0] for row in rows], dtype=np.int64)
    size = int(public[-1]) + 1 if len(public) else 1
    state = np.zeros(size, dtype=np.uint8)
    state[public] = [RETIRED if row[1] else LIVE for row in rows]
    groups = {
        "scalar": Group(size, public, ((*row[5:], bool(row[2])) for row in rows)),
        "tag": Group(size, public, (row[3] for row in rows)),
        "author": Group(size, public, (row[4] for row in rows)),
    }
    labels = {}
    for name, model, key_field in (("tactic", Tactic, "shortname"), ("technique", Technique, "technique_id")):
        through = (Rule.tactics if name == "tactic" else Rule.techniques).through
        per_rule: dict[int, list[str]] = {}
        for rule_id, value in _rows(through.objects.values_list("rule_id", f"{name}__{key_field}")):
            per_rule.setdefault(rule_id, []).append(value)
        groups[name] = Group(size, public, (tuple(sorted(per_rule.get(pk, ()))) for pk in public.tolist()))
        labels[name] = dict(model.objects.values_list(key_field, "name"))
    index = RuleIndex(key, state, groups, np.zeros(size, dtype=bool), labels, int(np.count_nonzero(state == LIVE)))
    index.tested = index.mask(RuleTestEvent.objects.values_list("rule_id", flat=True).distinct())
    return index.frozen()


def _rows(queryset) -> list[tuple]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


KEPT = KeptPerVersion(FILES, build, loaded=lambda index: index.frozen() if isinstance(index, RuleIndex) else None)
