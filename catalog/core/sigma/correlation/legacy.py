"""Legacy pipe aggregations (`selection | count() by SourceIp > 10`) read as correlations.

Sigma 1.x wrote event aggregation into the condition, with the window in `detection.timeframe` (the importer
keeps it as the rule's top-level `timeframe`: catalog.core.sigma.detection_quirks). One that reads
unambiguously becomes a correlation over the rule's own selection (the condition before the pipe):
- `count() [by f, ...] OP N` -> event_count;
- `count(x) [by f, ...] OP N` -> value_count of x (distinct values: Sigma 1's meaning of count(field));
- `sum(x)` -> value_sum, `avg(x)` -> value_avg.
Everything else is undecidable, and says why: `near` (its operands and window are not defined precisely
enough to evaluate), `min` / `max` (no correlation type), a missing timeframe, several conditions.
"""

from __future__ import annotations

import re

from .spec import Condition, CorrelationSpec, SpecError, parse_timespan

AGGREGATION = re.compile(
    r"\|\s*(?P<function>\w+)\s*\(\s*(?P<field>[\w.\-]*)\s*\)"
    r"(?:\s+by\s+(?P<by>[\w.\-]+(?:\s*,\s*[\w.\-]+)*))?"
    r"\s*(?P<op>>=|<=|==|!=|=|>|<)\s*(?P<threshold>\d+(?:\.\d+)?)",
    re.IGNORECASE,
)
OPERATORS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "==": "eq", "!=": "neq"}
TYPES = {"count": "event_count", "sum": "value_sum", "avg": "value_avg"}
SELECTION = ":selection"  # the base rule key of a legacy aggregation: its id followed by this


def selection_key(rule_id: str) -> str:
    """The key under which the hits of an aggregating rule's selection are fed to the evaluator."""
    return f"{str(rule_id).lower()}{SELECTION}"


def aggregation_of(conditions: list[str]) -> str:
    """The pipe aggregation of a rule's conditions ('' when none)."""
    for text in conditions or []:
        if "|" in str(text):
            return str(text)[str(text).index("|") :].strip()
    return ""


def legacy_spec(
    rule_id: str, title: str, level: str, conditions: list[str], timeframe: object
) -> CorrelationSpec | None:
    """The correlation a legacy aggregation means; None when the rule has none. SpecError: undecidable."""
    found = [str(c) for c in conditions or [] if "|" in str(c)]
    if not found:
        return None
    if len(conditions) != 1:
        raise SpecError("a rule with several conditions and an aggregation is not read unambiguously")
    text = found[0]
    aggregation = text[text.index("|") :].strip()
    if re.match(r"\|\s*near\b", aggregation, re.IGNORECASE):
        raise SpecError(
            f"'{aggregation}': `near` is not defined precisely enough to evaluate (use a temporal correlation)"
        )
    match = AGGREGATION.fullmatch(aggregation)
    if match is None:
        raise SpecError(f"'{aggregation}' is not an aggregation read unambiguously (count/sum/avg ... by ... OP N)")
    function, field_name = match.group("function").lower(), match.group("field")
    if function not in TYPES:
        raise SpecError(f"'{aggregation}': {function}() has no correlation type")
    kind = TYPES[function]
    if function == "count" and field_name:
        kind = "value_count"
    if kind != "event_count" and not field_name:
        raise SpecError(f"'{aggregation}': {function}() needs a field")
    if not timeframe:
        raise SpecError(f"'{aggregation}': the rule has no detection.timeframe, the window it counts in")
    by = tuple(part.strip() for part in (match.group("by") or "").split(",") if part.strip())
    seconds = parse_timespan(timeframe)
    bound = (OPERATORS[match.group("op")], float(match.group("threshold")))
    return CorrelationSpec(
        key=str(rule_id).lower(),
        name="",
        title=title,
        level=level,
        type=kind,
        rules=(selection_key(rule_id),),
        group_by=by,
        timespan=seconds,
        timespan_text=str(timeframe),
        condition=Condition((bound,), field_name),
        legacy=aggregation,
    )
