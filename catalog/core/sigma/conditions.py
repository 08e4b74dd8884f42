"""Conditions as JSON trees of and/or/not over detection names, `1 of x_*` selectors resolved.

pySigma parses the condition text; the tree is kept so that a later feature can evaluate a rule
against logged events from the database alone. Trees depend only on the text and the detection
names, so they are cached on both (SigmaHQ has a few hundred distinct pairs for 3,800 rules).
"""

from __future__ import annotations

from typing import Any

from sigma import exceptions as sigma_exceptions
from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
    SigmaCondition,
)

from .problems import error_message

CACHE_SIZE = 4096  # distinct (condition, names) pairs kept; SigmaHQ has a few hundred
_cache: dict[tuple, tuple[Any, str]] = {}


def condition_tree(text: str, detections) -> tuple[Any, str]:
    """(tree or None, warning or '') for one condition of a rule."""
    key = (text, tuple(detections.detections))
    if key not in _cache:
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()
        _cache[key] = _parse(text, detections)
    return _cache[key]


def aggregation(text: str) -> str:
    """The legacy pipe aggregation of a condition (`| count(x) by y > 30`), '' when it has none.

    Sigma identifiers and selectors never hold a `|`, so the first one starts the aggregation.
    """
    return text[text.index("|") :].strip() if "|" in text else ""


def aggregation_reason(text: str) -> str:
    """Why a rule whose condition aggregates cannot be decided on one event ('' when it does not)."""
    found = aggregation(text)
    if not found:
        return ""
    return (
        f"its condition aggregates events ('{_shown(found)}'): it counts events over time, so it is not "
        "decidable on single events and event matching skips it"
    )


def _parse(text: str, detections) -> tuple[Any, str]:
    condition, warning = text, ""
    if "|" in condition:
        condition = condition[: condition.index("|")].rstrip()
        warning = (
            f"legacy pipe aggregation '{_shown(text[len(condition) :])}' is deprecated (use a correlation rule); "
            "event matching evaluates it as a correlation over the selection when it reads unambiguously "
            "(with a detection.timeframe), and skips the rule otherwise"
        )
    try:
        return _tree(SigmaCondition(condition, detections).parse(postprocess=False), detections), warning
    except sigma_exceptions.SigmaError as exc:
        return None, f"condition '{_shown(text)}' cannot be parsed: {error_message(exc)}"
    except RecursionError:
        return None, f"condition '{_shown(text)}' is nested too deeply"


def _shown(text: str, limit: int = 200) -> str:
    """A condition as quoted in a message: whitespace runs collapsed, at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wildcard_match(pattern: str, name: str) -> bool:
    """Whether `name` matches `pattern`, where `*` is any run of characters and nothing else is special.

    Linear time: the literal pieces between stars are found left to right, each at its earliest
    place, which is all a `*`-only pattern needs. (A regex such as `a.*a.*a.*b` backtracks
    exponentially on long names; pySigma's own resolver does that, so it is not used here.)
    """
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == name
    first, *middle, last = pieces
    if len(first) + len(last) > len(name) or not name.startswith(first) or not name.endswith(last):
        return False
    position, end = len(first), len(name) - len(last)
    for piece in middle:
        found = name.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _tree(item: Any, detections) -> Any:
    names = detections.detections
    if isinstance(item, ConditionIdentifier):
        if item.identifier not in names:
            raise sigma_exceptions.SigmaConditionError(f"detection '{item.identifier}' is not defined")
        return {"ref": item.identifier}
    if isinstance(item, ConditionSelector):
        # pySigma's own selector semantics: '*' is any run of characters, '_'-names are internal.
        pattern = "*" if item.pattern == "them" else item.pattern
        refs = [
            {"ref": name}
            for name in names
            if wildcard_match(pattern, name) and (item.pattern.startswith("_") or not name.startswith("_"))
        ]
        if not refs:
            raise sigma_exceptions.SigmaConditionError(f"'{item.args[0]} of {item.pattern}' matches no detection")
        op = "or" if item.cond_class is ConditionOR else "and"
        return {"op": op, "args": refs, "selector": f"{item.args[0]} of {item.pattern}"}
    if isinstance(item, (ConditionAND, ConditionOR, ConditionNOT)):
        op = {ConditionAND: "and", ConditionOR: "or", ConditionNOT: "not"}[type(item)]
        return {"op": op, "args": [_tree(arg, detections) for arg in item.args]}
    raise sigma_exceptions.SigmaConditionError(f"unexpected condition element {item!r}")
