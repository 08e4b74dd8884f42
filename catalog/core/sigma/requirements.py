"""What an event must contain for a rule to possibly fire: the literals the matching index is built from.

A rule fires only when its condition is definitely true (catalog.core.sigma.evaluate). From the values
pySigma prepares for evaluation, each rule gets a *requirement*: a set of atoms such that whenever
the condition is true, the event holds at least one of them. An atom is

- ("eq", field, text): the field's value, case-folded, is `text` (a Sigma string without wildcards);
- ("sub", field, text): the field's value, case-folded, contains `text` (the longest literal run of
  a `contains` / `startswith` / `endswith` / wildcard value); field None: any value (keywords);
- ("num", field, number): the field's value read as a number equals `number`.

A rule with no such set (a regex, a negation, a CIDR range, a numeric comparison, `exists`, a field
reference... on some path to true) is `ALWAYS` a candidate. Only *necessary* conditions are taken,
so an event without any of the atoms cannot fire the rule: the index may let through a rule that
then does not fire, never leave out one that would.

Case: RE2 compares case-insensitively by Unicode simple case folding, where every character of a
folding orbit (k, K, KELVIN SIGN) has the same full case folding (`str.casefold`). So if RE2 finds a
literal in a value, the case-folded literal is in the case-folded value; the converse need not
hold (`ß` folds to `ss`), which only admits an extra candidate. tests/matching/test_match_index.py checks
this property over every cased character.
"""

from __future__ import annotations

import re._constants as sre
import re._parser as sre_parse
import warnings
from collections import Counter
from collections.abc import Iterable

from sigma.types import (
    Placeholder,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
)

ALWAYS = None  # no literal requirement: the rule is a candidate for every event of its log source


def fold(text: str) -> str:
    """How index literals and event values are compared: case-folded (see the module docstring)."""
    return text.casefold()


def value_need(field: str | None, value, anywhere: bool):
    """The requirement of one pySigma value, an expansion's values OR-ed; ALWAYS when it has none."""
    if isinstance(value, SigmaExpansion):
        return any_of([value_need(field, v, anywhere) for v in value.values])
    if isinstance(value, SigmaNumber) and not anywhere and field:
        return ("atom", ("num", field.lower(), float(value.number)))
    if isinstance(value, SigmaRegularExpression):
        return regex_need(field.lower() if field else None, str(value.regexp))
    if not isinstance(value, SigmaString) or any(isinstance(p, Placeholder) for p in value.s):
        return ALWAYS
    parts = value.s
    if not anywhere and field and all(isinstance(p, str) for p in parts):
        return ("atom", ("eq", field.lower(), fold("".join(parts))))
    runs = [fold(p) for p in parts if isinstance(p, str) and p]
    if not runs:  # only wildcards
        return ALWAYS
    return ("atom", ("sub", field.lower() if field else None, max(runs, key=len)))


# Syntax RE2 and Python's parser read differently (POSIX classes, \Q..\E, Unicode classes): no literals taken.
_DIVERGENT = ("[:", "\\Q", "\\p", "\\P", "\\C", "\\x{")


def regex_need(field: str | None, pattern: str):
    """The literals a regex match must contain, read from Python's parse of the pattern: runs of
    literal characters in sequence (a group repeated at least once counts, alternatives OR-ed).
    Case is left aside: a case-insensitive match holds the literal case-folded, as the atoms are."""
    if any(marker in pattern for marker in _DIVERGENT):
        return ALWAYS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = sre_parse.parse(pattern)
    except (sre.error, RecursionError, OverflowError, ValueError):
        return ALWAYS
    try:
        return _sequence_need(field, list(parsed))
    except RecursionError:
        return ALWAYS


def _sequence_need(field, items: list):
    needs, run = [], []
    for op, arg in items:
        if op is sre.LITERAL:
            run.append(chr(arg))
            continue
        if op is sre.AT:  # zero-width: a literal run goes on across it
            continue
        if run:
            needs.append(("atom", ("sub", field, fold("".join(run)))))
            run = []
        if op is sre.SUBPATTERN:
            needs.append(_sequence_need(field, list(arg[-1])))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and arg[0] >= 1:
            needs.append(_sequence_need(field, list(arg[2])))
        elif op is sre.BRANCH:
            needs.append(any_of([_sequence_need(field, list(branch)) for branch in arg[1]]))
    if run:
        needs.append(("atom", ("sub", field, fold("".join(run)))))
    return all_of(needs)


def item_need(field: str | None, values: list, all_values: bool, negated: bool, anywhere: bool):
    """A detection item: its values OR-ed (AND-ed under `all`); a negated item requires nothing."""
    if negated:
        return ALWAYS
    needs = [value_need(None if anywhere else field, value, anywhere) for value in values]
    return all_of(needs) if all_values else any_of(needs)


def any_of(needs: list):
    if not needs:
        return ("or", [])  # nothing can be true: never a candidate
    if any(need is ALWAYS for need in needs):
        return ALWAYS
    return needs[0] if len(needs) == 1 else ("or", needs)


def all_of(needs: list):
    needs = [need for need in needs if need is not ALWAYS]
    if not needs:
        return ALWAYS
    return needs[0] if len(needs) == 1 else ("and", needs)


def condition_need(tree, blocks: dict):
    """The requirement of a condition tree over blocks (name -> list of groups of item needs)."""
    if "ref" in tree:
        groups = blocks.get(tree["ref"])
        if groups is None:
            return ("or", [])  # a missing block is false
        return any_of([all_of(list(group)) for group in groups])
    if tree["op"] == "not":
        return ALWAYS  # true when its argument is false: nothing in particular is needed
    needs = [condition_need(arg, blocks) for arg in tree["args"]]
    return all_of(needs) if tree["op"] == "and" else any_of(needs)


def rule_need(conditions: list, blocks: dict):
    """A rule fires when any of its conditions is true."""
    return any_of([condition_need(tree, blocks) for tree in conditions])


def atoms_of(need) -> Iterable[tuple]:
    if need is ALWAYS:
        return
    if need[0] == "atom":
        yield need[1]
    else:
        for child in need[1]:
            yield from atoms_of(child)


CLAUSES = 3  # necessary literal sets kept per rule; an event must hold one atom of each
EXTRA_SET_COST = 200.0  # past it, a further set costs the index more work than the candidates it saves


def resolve(needs: list) -> list[tuple[frozenset, ...] | None]:
    """Each rule's requirement as up to CLAUSES sets of atoms, all needed (an event must hold an atom
    of every set), or ALWAYS. Of the parts all of which are needed, the sets kept are those whose
    atoms the fewest rules of the catalog share (a rarely shared literal is rarely present in an
    event; a short one counts as common). Where one of several parts is needed, a set takes one set
    of each part: `(a and b) or (c and d)` needs `a or c`, and `b or d`."""
    shared = Counter(atom for need in needs for atom in set(atoms_of(need)))

    def cost(atoms: frozenset) -> float:
        return sum((shared[a] + 1) * (1 + (64 / len(a[2]) ** 2 if a[0] == "sub" else 0)) for a in atoms)

    def best(sets: list[frozenset]) -> list[frozenset]:
        return sorted(set(sets), key=lambda atoms: (cost(atoms), sorted(map(str, atoms))))[:CLAUSES]

    def clauses(need) -> list[frozenset] | None:
        if need is ALWAYS:
            return ALWAYS
        kind, body = need
        if kind == "atom":
            return [frozenset([body])]
        parts = [clauses(child) for child in body]
        if kind == "and":
            found = [clause for part in parts if part is not ALWAYS for clause in part]
            return best(found) if found else ALWAYS
        if any(part is ALWAYS for part in parts):
            return ALWAYS
        if not parts:
            return [frozenset()]  # nothing can be true: no event holds an atom of the empty set
        merged = [frozenset().union(*(part[min(j, len(part) - 1)] for part in parts)) for j in range(CLAUSES)]
        return best(merged)

    def kept(found: list[frozenset]) -> tuple[frozenset, ...]:
        """The cheapest set, and the others unless common enough to cost the index more than they save."""
        return (found[0], *(atoms for atoms in found[1:] if cost(atoms) <= EXTRA_SET_COST))

    return [None if (found := clauses(need)) is ALWAYS else kept(found) for need in needs]


def compiled_need(rule) -> object:
    """The requirement of a compiled rule (catalog.core.sigma.evaluate.CompiledRule), from its items' needs."""
    blocks = {name: [[item.need for item in group] for group in block.groups] for name, block in rule.blocks.items()}
    return rule_need(rule.conditions, blocks)
