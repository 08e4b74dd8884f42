"""The public rules a rule list's filters match, as masks over rule ids: what its count and facets are about.

Each filter in use gives a mask (numpy, one flag per rule id), and the list's rules are their intersection: a
search's from the full-text index alone (catalog.search.ranking.matching_ids: no rule row read), a facet's from
the rule index's codes (catalog.browse.queries.rule_index), the two filters that are no facet (an author's name
in part, an indicator search) from the database, as RuleFilterSet applies them. So the list's size is exact at
any size (at 20x SigmaHQ, `?q=powershell` counts its 12,820 rules in about 1 ms, where a COUNT read each rule's
row), and a facet in use is counted without its own filter by leaving its mask out, with no new query.

The facet filters here mean what RuleFilterSet's do (catalog.browse.queries.filtersets);
tests/browse/test_rule_matches.py checks both give the same rules, on both databases.
"""

from __future__ import annotations

import numpy as np

from catalog.browse.queries import broad_words, rule_index
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
        self._masks: dict[str, np.ndarray | None] = {}

    def mask(self, without: str | None = None) -> np.ndarray | None:
        """The mask of the public rules matching every filter but `retired` (and `without`); None: every public
        rule."""
        masks = [mask for name in self.used if name != without and (mask := self._mask(name)) is not None]
        if not masks:
            return None
        found = masks[0].copy()
        for other in masks[1:]:
            found &= other
        return found

    def shown(self) -> list[int]:
        """The rules the list shows: matching, and live (retired ones when `retired=true`)."""
        wanted = rule_index.RETIRED if self.data.get("retired") is True else rule_index.LIVE
        return self.index.in_state(self.mask(), wanted)

    def _mask(self, name: str) -> np.ndarray | None:
        if name not in self._masks:
            self._masks[name] = self._evaluated(name, self.data[name])
        return self._masks[name]

    def _evaluated(self, name: str, value) -> np.ndarray | None:
        index = self.index
        if name == "q":
            champion = broad_words.find(value, index.key)  # a word many titles hold: its match is kept
            if champion is not None:
                return champion.matching(len(index.state)) & index.public
            found = ranking.matching_ids(value)
            if found is None:  # nothing to look for (only punctuation): every rule
                return None
            return index.mask(found)
        if name in FROM_DATABASE:
            return index.mask(_from_database(name, value))
        if name == "has_test_events":
            return index.tested if value else index.public & ~index.tested
        if name in SCALAR:
            position = SCALAR[name]
            wanted = set(value) if isinstance(value, (list, tuple)) else {value}
            return self._having("scalar", lambda values: values[position] in wanted)
        if name == "tag":
            needles = [f"|{v.lower()}|" for v in value]
            return self._having("tag", lambda text: any(needle in text for needle in needles))
        if name == "tactic":
            return self._having("tactic", lambda tactics: any(v in tactics for v in value))
        if name == "technique":
            wanted = [v.upper() for v in value]
            return self._having(
                "technique", lambda techniques: any(t == w or t.startswith(w + ".") for t in techniques for w in wanted)
            )
        raise ValueError(f"no rule set for the filter {name!r}")  # a new filter: add it here, and to the test

    def _having(self, group: str, wanted) -> np.ndarray:
        """The public rules whose value in `group` satisfies `wanted`."""
        return self.index.groups[group].having(wanted) & self.index.public


def _in_use(value) -> bool:
    return value not in (None, "", [], ())


def _from_database(name: str, value) -> list[int]:
    """The public rules one filter keeps, as RuleFilterSet applies it."""
    filterset = RuleFilterSet(queryset=Rule.objects.public())
    kept = filterset.filters[name].filter(filterset.queryset.all(), value)
    return list(kept.order_by().values_list("pk", flat=True))
