"""Polarity: whether a rule looks for what a detection block holds, or excludes it.

Read from the stored condition tree (the one event matching evaluates), never guessed from block
names: a block reached under an even number of `not`s is looked for, under an odd number it is
excluded, and a block named both ways is `both`. A selector (`1 of filter_*`, `all of them`) is
stored as the list of blocks it covers, so it names each of them.

Sigma meta-filters have their condition AND-ed onto the rules they target (pySigma's
`SigmaFilter.apply_on_rule`), so the same reading holds for them: the usual `not filter` makes
their values exclusions. Correlation rules have no detection blocks, hence no polarity at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

LOOKS_FOR = "looks_for"
EXCLUDES = "excludes"
BOTH = "both"

# The parities reached by the blocks a condition never names: nothing to exclude, kept as looked for.
UNNAMED = LOOKS_FOR


def block_polarities(condition_trees: list[Any] | None, block_names: Iterable[str]) -> dict[str, str]:
    """Each block's polarity over all of a rule's conditions.

    A block that no condition names (or every block, when a condition could not be parsed and so
    has no tree) is `looks_for`: the rule's values are then shown as they always were.
    """
    parities: dict[str, set[bool]] = {name: set() for name in block_names}
    for tree in condition_trees or []:
        _walk(tree, False, parities)
    return {name: polarity_of(found) for name, found in parities.items()}


def polarity_of(negated: set[bool]) -> str:
    """The polarity of a set of parities (False = reached under an even number of `not`s)."""
    if negated == {True}:
        return EXCLUDES
    if negated == {False, True}:
        return BOTH
    return UNNAMED


def combined(polarities: Iterable[str]) -> str:
    """One polarity for a value written in several blocks: `both` unless they all agree."""
    found = set(polarities)
    if not found:
        return LOOKS_FOR
    if len(found) == 1:
        return found.pop()
    return BOTH


def _walk(node: Any, negated: bool, parities: dict[str, set[bool]]) -> None:
    # Iterative: trees of deeply nested conditions must not exhaust the Python stack.
    stack = [(node, negated)]
    while stack:
        item, odd = stack.pop()
        if not isinstance(item, dict):
            continue
        if "ref" in item:
            parities.setdefault(item["ref"], set()).add(odd)
            continue
        flip = item.get("op") == "not"
        stack.extend((arg, odd != flip) for arg in item.get("args", []))
