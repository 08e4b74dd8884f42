"""Every public rule's facet values as small codes, read once per catalog version and kept in each process.

The rule list counts its facets over the rules a search or filter matches, and says how many match.
Counted by the database, both read every matching rule's row: at 20x SigmaHQ `?q=powershell` matches
12,820 rules and `?level=high&level=critical` 38,080, and a `GROUP BY` over them cost 30-170 ms, which
is why the facets were counted over the first 10,000 only. Here each public rule's values are codes in
arrays indexed by rule id (a code stands for one distinct value: a tag list, an author list, a rule's
set of tactics), and each code has the list of its rules (its postings). A list's facet counts are then a
`Counter` over its matching rule ids, one per group of facets, in C (about 0.1 us per rule and group),
exact at any size; and a filter on a facet is the union of its values' postings
(catalog.browse.queries.rule_matches).

The index is built from the database (5 narrow queries; at 20x SigmaHQ 1.3-2.2 s of CPU, and about 5 MB per
process) by the first process that needs it for a catalog version, stored on disk for that version
(catalog.platform.version_files, beside the compiled matcher), and loaded by every other process; each keeps it
under that version: every change of the rules bumps it (catalog.publishing.versioning), so a stale index is never
read. The key is the version's number and time, so two test databases that reach the same number are never
confused.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection

from catalog.models import CatalogVersion, Rule, RuleTestEvent, Tactic, Technique
from catalog.platform.version_files import VersionFiles

# The columns of the "scalar" group, one value per rule: the facets, and the filters that are not facets.
SCALARS = ("status", "level", "product", "category", "service", "source", "quality", "type", "verified")
_COLUMNS = ("status", "level_shown", "product", "category", "service", "source__name", "quality", "rule_type")
LIVE, RETIRED = 1, 2  # a rule's state; 0: hidden or no such rule


class Group:
    """One group of facet values: per rule id, the code of its value; per code, the value and (worked out on
    first use) its rules."""

    def __init__(self, size: int, pks: list[int], values):
        known: dict = {}
        codes = [known.setdefault(value, len(known)) for value in values]  # a new value gets the next code
        self.values = list(known)  # code -> value (a tuple of SCALARS, a tag list, a tuple of names)
        self.codes = [0] * size  # rule id -> code
        for pk, code in zip(pks, codes, strict=True):
            self.codes[pk] = code
        self._pks = pks
        self._postings: list[list[int]] | None = None
        self._split: list | None = None

    @property
    def postings(self) -> list[list[int]]:
        """code -> public rule ids, ascending."""
        if self._postings is None:
            postings: list[list[int]] = [[] for _ in self.values]
            codes = self.codes
            for pk in self._pks:
                postings[codes[pk]].append(pk)
            self._postings = postings
        return self._postings

    def split(self, choices) -> list:
        """code -> `choices(value)` (the choices a value holds), worked out once per index."""
        if self._split is None:
            self._split = [tuple(choices(value)) for value in self.values]
        return self._split

    def count(self, ids) -> Counter:
        """{value: rules among `ids`}."""
        return Counter({self.values[code]: n for code, n in Counter(map(self.codes.__getitem__, ids)).items()})

    def ids(self, wanted) -> set[int]:
        """The rules whose value satisfies `wanted(value)`."""
        found: set[int] = set()
        postings = self.postings
        for code, value in enumerate(self.values):
            if wanted(value):
                found.update(postings[code])
        return found


@dataclass
class RuleIndex:
    key: tuple
    state: bytearray  # rule id -> LIVE, RETIRED or 0 (hidden, or no such rule)
    groups: dict[str, Group]  # scalar, tag (the tag_text), author (the text), tactic and technique (sorted tuples)
    tested: frozenset[int]  # public rules with logged test events
    labels: dict[str, dict[str, str]]  # "tactic": {shortname: name}, "technique": {technique id: name}
    public: list[int]  # every public rule id, ascending
    live_count: int = 0
    # A rule's whole profile (its state, its code in each group, whether it has test events): rules that share
    # all of them count alike, so when many do (20 copies of a corpus do), one Counter pass over the profiles
    # of a list's rules replaces one per group. Kept only when there are 4 rules or more per profile.
    profiles: Group | None = None
    _by_state: dict = field(default_factory=dict)

    def in_state(self, ids, state: int) -> list[int]:
        """The rules among `ids` (every public rule when None) in `state`."""
        if ids is None:
            if state not in self._by_state:  # the unfiltered list's rules, worked out once
                self._by_state[state] = [pk for pk in self.public if self.state[pk] == state]
            return self._by_state[state]
        return [pk for pk in ids if self.state[pk] == state]

    def counted(self, ids, state: int) -> tuple[dict[str, Counter], int, Counter]:
        """Among `ids` (every public rule when None): per group, {code: rules in `state`}; how many of those
        have test events; and {state: rules}."""
        ids = self.public if ids is None else ids
        if self.profiles is None:
            shown = self.in_state(ids, state)
            codes = {name: Counter(map(group.codes.__getitem__, shown)) for name, group in self.groups.items()}
            return codes, sum(1 for pk in shown if pk in self.tested), Counter(map(self.state.__getitem__, ids))
        per_group: list[dict] = [{} for _ in self.groups]
        tested, states = 0, Counter()
        for code, n in Counter(map(self.profiles.codes.__getitem__, ids)).items():
            profile = self.profiles.values[code]
            states[profile[0]] += n
            if profile[0] == state:
                for counted, value in zip(per_group, profile[1:-1], strict=True):
                    counted[value] = counted.get(value, 0) + n
                tested += n if profile[-1] else 0
        return {name: Counter(counted) for name, counted in zip(self.groups, per_group, strict=True)}, tested, states


_lock = threading.Lock()
_kept: dict[str, RuleIndex] = {}
# Stored per catalog version beside the compiled matcher: a process loads what the first one built (at 20x SigmaHQ
# building cost 1.3-2.2 s of CPU, most of it reading 75,600 wide rule rows; loading costs a fraction of it).
FILES = VersionFiles("rule-index", ("catalog.browse.queries.rule_index",))


def current(key: tuple | None = None) -> RuleIndex:
    """The index of the catalog version the database is at (`key`: its (number, time), when the caller has read
    it: catalog.platform.fragments.state), built when this process has none for it; one thread builds it while
    others wait for it."""
    key = key or CatalogVersion.state()
    kept = _kept.get("index")
    if kept is not None and kept.key == key:
        return kept
    with _lock:
        kept = _kept.get("index")
        if kept is None or kept.key != key:
            kept = _stored(key)  # stored for this very version: kept as it is
            if kept is None:
                kept = build(key)
                if CatalogVersion.state() != key:  # a change committed meanwhile: the rows read may be a later one's
                    return kept
                FILES.save(kept, *key)
            _kept["index"] = kept
    return kept


def _stored(key: tuple) -> RuleIndex | None:
    """The index another process built for this version and stored (catalog.platform.version_files), if any."""
    found = FILES.load(*key)
    return found if isinstance(found, RuleIndex) and found.key == key else None


def build(key: tuple = ()) -> RuleIndex:
    """Read the public rules' facet values (7 queries). Also used, not kept, by the summary tables' refresh."""
    rules = (
        Rule.objects.public().order_by("pk").values_list("pk", "retired", "verified", "tag_text", "author", *_COLUMNS)
    )
    rows = _rows(rules)  # about 75,600 at 20x SigmaHQ: no per-row conversion by the ORM
    public = [row[0] for row in rows]
    size = (public[-1] + 1) if public else 1
    state = bytearray(size)
    for pk, retired in zip(public, (row[1] for row in rows), strict=True):
        state[pk] = RETIRED if retired else LIVE
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
        groups[name] = Group(size, public, (tuple(sorted(per_rule.get(pk, ()))) for pk in public))
        labels[name] = dict(model.objects.values_list(key_field, "name"))
    tested = frozenset(
        pk for pk in RuleTestEvent.objects.values_list("rule_id", flat=True).distinct() if pk < size and state[pk]
    )
    index = RuleIndex(key, state, groups, tested, labels, public, state.count(LIVE))
    profiles = Group(
        size, public, ((state[pk], *(g.codes[pk] for g in groups.values()), pk in tested) for pk in public)
    )
    if len(profiles.values) * 4 <= len(public):
        index.profiles = profiles
    return index


def _rows(queryset) -> list[tuple]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
