"""Conditions as JSON trees of and/or/not over detection names, `1 of x_*` selectors resolved.

pySigma parses the condition text; the tree is kept so that a later feature can evaluate a rule
against logged events from the database alone. Trees depend only on the text and the detection
names, so they are cached on both (SigmaHQ has a few hundred distinct pairs for 3,800 rules).
"""

from __future__ import annotations

import re
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

PIPE_AGGREGATION = re.compile(r"\s*\|.*$", re.S)
_cache: dict[tuple, tuple[Any, str]] = {}


def condition_tree(text: str, detections) -> tuple[Any, str]:
    """(tree or None, warning or '') for one condition of a rule."""
    key = (text, tuple(detections.detections))
    if key not in _cache:
        _cache[key] = _parse(text, detections)
    return _cache[key]


def _parse(text: str, detections) -> tuple[Any, str]:
    condition, warning = text, ""
    if "|" in condition:
        condition = PIPE_AGGREGATION.sub("", condition)
        warning = (
            f"legacy pipe aggregation '{text[len(condition) :].strip()}' is deprecated (use a correlation rule); "
            "it is kept as text only"
        )
    try:
        return _tree(SigmaCondition(condition, detections).parse(postprocess=False), detections), warning
    except sigma_exceptions.SigmaError as exc:
        return None, f"condition '{text}' cannot be parsed: {error_message(exc)}"
    except RecursionError:
        return None, f"condition '{text}' is nested too deeply"


def _tree(item: Any, detections) -> Any:
    names = detections.detections
    if isinstance(item, ConditionIdentifier):
        if item.identifier not in names:
            raise sigma_exceptions.SigmaConditionError(f"detection '{item.identifier}' is not defined")
        return {"ref": item.identifier}
    if isinstance(item, ConditionSelector):
        # pySigma's own selector semantics: '*' is any run of characters, '_'-names are internal.
        pattern = ".*" if item.pattern == "them" else item.pattern.replace("*", ".*")
        refs = [
            {"ref": name}
            for name in names
            if re.fullmatch(pattern, name) and (item.pattern.startswith("_") or not name.startswith("_"))
        ]
        if not refs:
            raise sigma_exceptions.SigmaConditionError(f"'{item.args[0]} of {item.pattern}' matches no detection")
        op = "or" if item.cond_class is ConditionOR else "and"
        return {"op": op, "args": refs, "selector": f"{item.args[0]} of {item.pattern}"}
    if isinstance(item, (ConditionAND, ConditionOR, ConditionNOT)):
        op = {ConditionAND: "and", ConditionOR: "or", ConditionNOT: "not"}[type(item)]
        return {"op": op, "args": [_tree(arg, detections) for arg in item.args]}
    raise sigma_exceptions.SigmaConditionError(f"unexpected condition element {item!r}")
