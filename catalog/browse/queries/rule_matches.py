"""The public rules a rule list's filters match, as sets of rule ids: what its count and facets are about.

Each filter in use gives a set, and the list's rules are their intersection: a search's from the full-text
index alone (catalog.search.ranking.matching_ids: no rule row read), a facet's from the rule index's postings
(catalog.browse.queries.rule_index), the two filters that are no facet (an author's name in part, an
indicator search) from the database, as RuleFilterSet applies them. So the list's size is exact at any size
(at 20x SigmaHQ, `?q=powershell` counts its 12,820 rules in about 3 ms, where a COUNT read each rule's row),
and a facet in use is counted without its own filter by leaving its set out, with no new query.

The facet filters here mean what RuleFilterSet's do (catalog.browse.queries.filtersets);
tests/browse/test_rule_matches.py checks both give the same rules, on both databases.
"""

from __future__ import annotations

from catalog.browse.queries import rule_index
from catalog.browse.queries.filtersets import RuleFilterSet
from catalog.models import Rule
from catalog.search import ranking

SCALAR = {name: position for position, name in enumerate(rule_index.SCALARS)}
FROM_DATABASE = ("author", "indicators")  # no facet holds them: the database answers
NOT_FILTERS = ("sort", "retired")  # retired: the rule's state, applied by `shown`


class Matches:
    """The rules matching a list's valid filters (`data`: its form's cleaned data), public ones only."""

    def __init__(self, data: dict, index: rule_index.RuleIndex):
        self.data = data
        self.index = index
        self.used = [name for name, value in data.items() if name not in NOT_FILTERS and _in_use(value)]
        self._sets: dict[str, set[int] | None] = {}

    def ids(self, without: str | None = None) -> set[int] | None:
        """The public rules matching every filter but `retired` (and `without`); None: every public rule."""
        sets = [self._set(name) for name in self.used if name != without]
        sets = sorted((s for s in sets if s is not None), key=len)
        if not sets:
            return None
        found = set(sets[0])
        for other in sets[1:]:
            found.intersection_update(other)
        return found

    def shown(self) -> list[int]:
        """The rules the list shows: matching, and live (retired ones when `retired=true`)."""
        wanted = rule_index.RETIRED if self.data.get("retired") is True else rule_index.LIVE
        return self.index.in_state(self.ids(), wanted)

    def _set(self, name: str) -> set[int] | None:
        if name not in self._sets:
            self._sets[name] = self._evaluated(name, self.data[name])
        return self._sets[name]

    def _evaluated(self, name: str, value) -> set[int] | None:
        index = self.index
        if name == "q":
            found = ranking.matching_ids(value)
            if found is None:  # nothing to look for (only punctuation): every rule
                return None
            size = len(index.state)
            return {pk for pk in found if pk < size and index.state[pk]}
        if name in FROM_DATABASE:
            return _from_database(name, value)
        if name == "has_test_events":
            return set(index.tested) if value else set(index.public) - index.tested
        if name in SCALAR:
            position = SCALAR[name]
            wanted = set(value) if isinstance(value, (list, tuple)) else {value}
            return index.groups["scalar"].ids(lambda values: values[position] in wanted)
        if name == "tag":
            needles = [f"|{v.lower()}|" for v in value]
            return index.groups["tag"].ids(lambda text: any(needle in text for needle in needles))
        if name == "tactic":
            return index.groups["tactic"].ids(lambda tactics: any(v in tactics for v in value))
        if name == "technique":
            wanted = [v.upper() for v in value]
            return index.groups["technique"].ids(
                lambda techniques: any(t == w or t.startswith(w + ".") for t in techniques for w in wanted)
            )
        raise ValueError(f"no rule set for the filter {name!r}")  # a new filter: add it here, and to the test


def _in_use(value) -> bool:
    return value not in (None, "", [], ())


def _from_database(name: str, value) -> set[int]:
    """The public rules one filter keeps, as RuleFilterSet applies it."""
    filterset = RuleFilterSet(queryset=Rule.objects.public())
    kept = filterset.filters[name].filter(filterset.queryset.all(), value)
    return set(kept.order_by().values_list("pk", flat=True))
