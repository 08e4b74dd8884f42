"""The matching index: from an event, the rules whose required literals it holds, in one pass.

Built from each rule's requirement (catalog.core.sigma.requirements), a set of atoms at least one of
which any event firing the rule holds, or ALWAYS:

- `eq` atoms go in a hash per field: case-folded value -> rules;
- `num` atoms in a hash per field: the value read as a number -> rules;
- `sub` atoms (contains / startswith / endswith, and wildcard runs) in one Aho-Corasick automaton
  (pyahocorasick) per field, plus one for keywords, which are looked for in every value: one pass
  over a value finds every literal of every rule in it.

`hits(event)` reads each field of the event once (case-folded, as the atoms are) and returns the
rules with at least one atom present. The rules that are ALWAYS candidates are listed apart
(`always`); callers add those of the event's log source. Everything here is a necessary
condition, so a rule left out cannot fire; the evaluator confirms the rest (catalog.matching.engine).
"""

from __future__ import annotations

from collections import defaultdict

import ahocorasick

from .requirements import ALWAYS, fold
from .values import as_number


class LiteralIndex:
    __slots__ = ("always", "by_field", "anywhere", "atoms", "owner", "needed", "_names")

    def __init__(self, requirements: dict[int, tuple[frozenset, ...] | None]):
        """requirements: rule number (the caller's) -> its sets of atoms (each needed), or ALWAYS."""
        self.always = tuple(sorted(rule for rule, sets in requirements.items() if sets is ALWAYS))
        tables: dict[str, dict[str | None, dict]] = {kind: defaultdict(lambda: defaultdict(set)) for kind in KINDS}
        self.owner: list[int] = []  # set number -> rule number
        self.needed: dict[int, int] = {}  # rule number -> how many sets it has
        for rule, sets in requirements.items():
            for atoms in sets or ():
                for kind, field, value in atoms:
                    tables[kind][field][value].add(len(self.owner))
                self.owner.append(rule)
            self.needed[rule] = len(sets or ())
        self.atoms = sum(len(values) for table in tables.values() for values in table.values())
        eq, num, sub = (tables[kind] for kind in KINDS)
        keywords = sub.pop(None, None)
        self.anywhere = _automaton(keywords) if keywords else None
        self.by_field = {
            field: (
                {value: tuple(rules) for value, rules in eq[field].items()} if field in eq else None,
                {value: tuple(rules) for value, rules in num[field].items()} if field in num else None,
                _automaton(sub[field]) if field in sub else None,
            )
            for field in set(eq) | set(num) | set(sub)
        }
        self._names: dict[str, str] = {}  # event keys lowercased, remembered across events

    def hits(self, event: dict) -> set[int]:
        """The rules (numbers) with an atom of each of their sets present in the (flat) event."""
        owner, needed, held = self.owner, self.needed, {}
        for number in self.held(event):
            rule = owner[number]
            held[rule] = held.get(rule, 0) + 1
        return {rule for rule, count in held.items() if count == needed[rule]}

    def held(self, event: dict) -> set[int]:
        """The sets (numbers) with at least one atom present in the event."""
        found: set[int] = set()
        by_field, anywhere, names = self.by_field, self.anywhere, self._names
        texts = [] if anywhere is not None else None
        for key, value in event.items():
            if value is None:
                continue
            name = names.get(key)
            if name is None:
                if len(names) > 10_000:
                    names.clear()
                name = names[key] = key.lower()
            tables = by_field.get(name)
            if tables is None and texts is None:
                continue
            text = value if value.__class__ is str else str(value)
            if text.isascii():
                text = text.lower()  # the case folding of ASCII
            else:  # as RE2 reads it: a lone surrogate is "?" (patterns.as_bytes)
                text = fold(text.encode("utf-8", errors="replace").decode("utf-8"))
            if texts is not None:
                texts.append(text)
            if tables is None:
                continue
            eq, num, automaton = tables
            if eq is not None:
                sets = eq.get(text)
                if sets is not None:
                    found.update(sets)
            if num is not None:
                number = as_number(value)
                if number is not None and number in num:
                    found.update(num[number])
            if automaton is not None:
                for _, sets in automaton.iter(text):
                    found.update(sets)
        if texts:  # keywords, in every value at once: a literal across two values only adds a candidate
            for _, sets in anywhere.iter("\n".join(texts)):
                found.update(sets)
        return found


KINDS = ("eq", "num", "sub")


def _automaton(literals: dict[str, set[int]]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
    for literal, rules in literals.items():
        automaton.add_word(literal, tuple(rules))
    automaton.make_automaton()
    return automaton
