"""Whether event matching can use a stored detection rule, and if not, why (shown on the rule page).

Matching skips a rule rather than fail: one rule it cannot use must never stop a match of the whole
catalog. A rule is skipped when
- it has no usable condition tree: rows imported before unparseable conditions became import errors
  hold none (SQL NULL or JSON null);
- its condition aggregates events (`selection | count() by x > 30`) in a way that cannot be read as a
  correlation (catalog.core.sigma.correlation.legacy: `near`, min/max, no timeframe): a count over a time
  window is not decidable on single events, and firing on the selection alone would report what the rule
  does not say. One that can be read runs as a correlation over its selection (matching/correlating.py);
- pySigma cannot rebuild it from the stored rows (found when matching compiles it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .conditions import aggregation_reason
from .correlation.legacy import legacy_spec
from .correlation.spec import SpecError
from .evaluate import compile_rule

NO_CONDITION = (
    "no usable condition is stored for it (it was imported when a condition that cannot be parsed was only "
    "a warning): re-import its file to see the error"
)


def usable_tree(condition_tree: Any) -> bool:
    """Whether a stored condition tree is one matching can evaluate: a non-empty list of JSON trees."""
    return (
        isinstance(condition_tree, list)
        and bool(condition_tree)
        and all(isinstance(tree, dict) and ("ref" in tree or "op" in tree) for tree in condition_tree)
    )


def stored_problem(conditions: Iterable[Any] | None, condition_tree: Any, timeframe: Any = None) -> str:
    """Why matching skips a stored detection rule before compiling it, '' when it need not. `timeframe`:
    the rule's (detection.)timeframe, the window of a legacy aggregation, which then runs as a correlation."""
    if not usable_tree(condition_tree):
        return NO_CONDITION
    conditions = [str(text) for text in conditions or []]
    for text in conditions:
        reason = aggregation_reason(text)
        if reason:
            try:
                legacy_spec("-", "", "", conditions, timeframe)
            except SpecError as exc:
                return f"{reason}; it cannot be evaluated as a correlation either: {exc}"
            return ""
    return ""


def aggregates(conditions: Iterable[Any] | None) -> bool:
    """Whether a rule's condition holds a legacy pipe aggregation (matching runs its selection for it)."""
    return any(aggregation_reason(str(text)) for text in conditions or [])


# Modifiers of plain text comparisons: pySigma rebuilds such items from any stored values (the import
# compiled them once, catalog.importing.checks), so a page need not compile them again; a block list of
# 4,400 hashes takes 0.7 s to compile.
PLAIN_MODIFIERS = frozenset({"contains", "startswith", "endswith", "all", "cased"})


def compile_problem(condition_tree: Any, predicates: list[tuple]) -> str:
    """Why pySigma cannot rebuild a rule from its stored rows, '' when it can (one rule compiled, unless
    it only compares plain text)."""
    if all(PLAIN_MODIFIERS.issuperset(modifiers or []) for _, _, _, modifiers, _ in predicates):
        return ""
    try:
        compile_rule(condition_tree, predicates)
    except Exception as exc:  # noqa: BLE001 - any failure is the rule's, reported as its reason
        return f"it cannot be rebuilt for matching: {type(exc).__name__}: {str(exc)[:300]}"
    return ""


def skip_reason(rule_type: str, conditions, condition_tree: Any, predicates: list[tuple], timeframe: Any = None) -> str:
    """Why event matching skips a stored rule ('' when it runs it). Filters and correlations are not
    matched against events one by one, so they have no reason."""
    if rule_type != "rule":
        return ""
    return stored_problem(conditions, condition_tree, timeframe) or compile_problem(condition_tree, predicates)
