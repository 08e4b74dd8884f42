"""A correlation rule as the evaluator reads it: the stored `correlation` section -> CorrelationSpec.

The section is the one the importer stores (catalog.core.sigma.converting: type, rules, group_by, timespan,
condition, generate, aliases). Anything the evaluator cannot read unambiguously raises SpecError with the
reason, which matching reports beside the rule (as it reports the rules it skips).

Types (Sigma correlation specification 2.0 and the metric types of 2.1):
- event_count: the number of events; value_count: the number of distinct values of `condition.field`;
- temporal / temporal_ordered: the number of distinct referenced rules that fired (in the order of `rules`
  for temporal_ordered); without a condition, all of them (pySigma's default). An extended condition (a
  boolean expression over rule names, pySigma 1.x) is read for `temporal` only;
- value_sum / value_avg: the sum / mean of the numeric field `condition.field`;
- value_percentile: with `condition.percentile: P` (pySigma's key), the P-th percentile (nearest rank) of
  the numeric field; without it, as in the specification's example ("a process name that appeared in less
  than 1% of all processes"), the share in percent of the window's events that hold one value of the field:
  the condition holds when some value's share meets it;
- value_median (pySigma, not in the specification): the 50th percentile.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any

TYPES = (
    "event_count",
    "value_count",
    "temporal",
    "temporal_ordered",
    "value_sum",
    "value_avg",
    "value_percentile",
    "value_median",
)
FIELD_TYPES = frozenset({"value_count", "value_sum", "value_avg", "value_percentile", "value_median"})
NUMERIC_TYPES = frozenset({"value_sum", "value_avg", "value_median"})  # value_percentile: numeric with `percentile`
OPERATORS = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}
SYMBOLS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "neq": "!="}
LOWER_BOUNDS = frozenset({"gt", "gte"})
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
TIMESPAN = re.compile(r"(\d+)([smhdw])")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


class SpecError(ValueError):
    """A correlation the evaluator cannot read unambiguously; the message says why."""


@dataclass(frozen=True)
class Expression:
    """An extended temporal condition: `and` / `or` / `not` over rule references (lowercase)."""

    op: str  # "ref", "and", "or", "not"
    args: tuple = ()
    ref: str = ""

    def holds(self, present: set[str]) -> bool:
        if self.op == "ref":
            return self.ref in present
        if self.op == "not":
            return not self.args[0].holds(present)
        results = (arg.holds(present) for arg in self.args)
        return all(results) if self.op == "and" else any(results)

    def negated(self) -> bool:
        return self.op == "not" or any(arg.negated() for arg in self.args)

    def refs(self) -> list[str]:
        return [self.ref] if self.op == "ref" else [ref for arg in self.args for ref in arg.refs()]


@dataclass(frozen=True)
class Condition:
    bounds: tuple[tuple[str, float], ...] = ()  # (operator, threshold), all must hold
    field: str = ""
    percentile: float | None = None
    expression: Expression | None = None

    def holds(self, value: float) -> bool:
        return all(OPERATORS[op](value, threshold) for op, threshold in self.bounds)

    @property
    def monotone(self) -> bool:
        """True when adding events can only make it true and keep it so (only lower bounds, no `not`)."""
        if self.expression is not None:
            return not self.expression.negated()
        return all(op in LOWER_BOUNDS for op, _ in self.bounds)

    def text(self) -> str:
        bounds = " and ".join(f"{SYMBOLS[op]} {_number(threshold)}" for op, threshold in self.bounds)
        return bounds


@dataclass(frozen=True)
class CorrelationSpec:
    key: str  # the rule's id, lowercase (a legacy aggregation: the rule's id too)
    name: str  # lowercase, '' when none
    title: str
    level: str
    type: str
    rules: tuple[str, ...]  # references as written, lowercase (ids or names)
    group_by: tuple[str, ...]
    timespan: float  # seconds
    timespan_text: str
    condition: Condition
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # alias -> reference (lowercase) -> field
    generate: bool = False
    legacy: str = ""  # the pipe aggregation it was read from, '' for a correlation rule

    @property
    def early(self) -> bool:
        """Decided as each event arrives (a count that can only grow past its bounds) rather than when the
        window closes (an upper bound, a sum, an average, a percentile: known only once the window is whole)."""
        counting = self.type in ("event_count", "value_count", "temporal", "temporal_ordered")
        return counting and self.condition.monotone

    def condition_text(self) -> str:
        if self.condition.expression is not None:
            return f"temporal condition over {', '.join(self.rules)}"
        measure = {
            "event_count": "events",
            "value_count": f"distinct {self.condition.field}",
            "temporal": "rules",
            "temporal_ordered": "rules in order",
            "value_sum": f"sum({self.condition.field})",
            "value_avg": f"avg({self.condition.field})",
            "value_median": f"median({self.condition.field})",
        }.get(self.type)
        if self.type == "value_percentile":
            if self.condition.percentile is None:
                measure = f"share % of one {self.condition.field} value"
            else:
                measure = f"p{_number(self.condition.percentile)}({self.condition.field})"
        return f"{measure} {self.condition.text()} within {self.timespan_text}"


def parse_timespan(text: Any) -> float:
    match = TIMESPAN.fullmatch(str(text or "").strip())
    if not match or int(match.group(1)) <= 0:
        raise SpecError(f"timespan '{text}' is not a positive number followed by s, m, h, d or w")
    return float(int(match.group(1)) * UNITS[match.group(2)])


def parse_correlation(key: str, name: str, title: str, level: str, body: dict) -> CorrelationSpec:
    """The stored `correlation` section as a CorrelationSpec; SpecError names what cannot be evaluated."""
    if not isinstance(body, dict):
        raise SpecError("the correlation section is not a mapping")
    kind = str(body.get("type") or "").lower()
    if kind not in TYPES:
        raise SpecError(f"correlation type '{kind}' is not one the evaluator knows ({', '.join(TYPES[:7])})")
    rules = tuple(str(r).strip().lower() for r in body.get("rules") or [] if str(r).strip())
    condition = _condition(kind, body.get("condition"), rules)
    if not rules and condition.expression is not None:
        rules = tuple(dict.fromkeys(condition.expression.refs()))
    if not rules:
        raise SpecError("the correlation names no rules")
    group_by = body.get("group_by", body.get("group-by")) or []
    group_by = [group_by] if isinstance(group_by, str) else group_by
    aliases = body.get("aliases") or {}
    if not isinstance(aliases, dict) or not all(isinstance(m, dict) for m in aliases.values()):
        raise SpecError("aliases must map each alias to {rule name: field}")
    return CorrelationSpec(
        key=str(key).lower(),
        name=str(name or "").lower(),
        title=title,
        level=level,
        type=kind,
        rules=rules,
        group_by=tuple(str(f) for f in group_by),
        timespan=parse_timespan(body.get("timespan")),
        timespan_text=str(body.get("timespan")),
        condition=condition,
        aliases={str(a): {str(r).lower(): str(f) for r, f in m.items()} for a, m in aliases.items()},
        generate=bool(body.get("generate")),
    )


def _condition(kind: str, raw: Any, rules: tuple[str, ...]) -> Condition:
    if raw is None or raw == {}:
        if kind in ("temporal", "temporal_ordered"):
            return Condition(bounds=(("gte", float(len(rules))),))
        raise SpecError(f"a {kind} correlation needs a condition")
    if isinstance(raw, str):
        if kind != "temporal":
            raise SpecError(f"an extended (text) condition is read for temporal correlations only, not {kind}")
        return Condition(expression=_expression(raw))
    if not isinstance(raw, dict):
        raise SpecError("the condition is neither a mapping nor an extended condition")
    unknown = set(raw) - set(OPERATORS) - {"field", "percentile"}
    if unknown:
        raise SpecError(f"the condition holds unknown keys: {', '.join(sorted(map(str, unknown)))}")
    bounds = []
    for op in OPERATORS:
        if op in raw:
            try:
                bounds.append((op, float(raw[op])))
            except (TypeError, ValueError):
                raise SpecError(f"condition {op}: '{raw[op]}' is not a number") from None
    if not bounds:
        raise SpecError("the condition has no comparison (gt, gte, lt, lte, eq, neq)")
    field_name = raw.get("field") or ""
    if isinstance(field_name, list):
        if len(field_name) != 1:
            raise SpecError("a condition on several fields at once is not read (one field only)")
        field_name = field_name[0]
    if kind in FIELD_TYPES and not field_name:
        raise SpecError(f"a {kind} correlation needs condition.field")
    percentile = raw.get("percentile")
    if kind == "value_median":
        kind, percentile = "value_percentile", 50
    if percentile is not None:
        try:
            percentile = float(percentile)
        except (TypeError, ValueError):
            raise SpecError(f"percentile '{percentile}' is not a number") from None
        if not 0 < percentile <= 100:
            raise SpecError(f"percentile {_number(percentile)} is not within (0, 100]")
    return Condition(tuple(bounds), str(field_name), percentile)


def _expression(text: str) -> Expression:
    tokens = re.findall(r"\(|\)|[^\s()]+", text)
    position = 0

    def peek() -> str:
        return tokens[position].lower() if position < len(tokens) else ""

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def either() -> Expression:
        args = [both()]
        while peek() == "or":
            take()
            args.append(both())
        return args[0] if len(args) == 1 else Expression("or", tuple(args))

    def both() -> Expression:
        args = [single()]
        while peek() == "and":
            take()
            args.append(single())
        return args[0] if len(args) == 1 else Expression("and", tuple(args))

    def single() -> Expression:
        token = peek()
        if token == "not":
            take()
            return Expression("not", (single(),))
        if token == "(":
            take()
            inner = either()
            if peek() != ")":
                raise SpecError(f"extended condition '{text}': a parenthesis is not closed")
            take()
            return inner
        if not token or token in ("and", "or", ")") or not NAME.fullmatch(token):
            raise SpecError(f"extended condition '{text}': a rule name is expected at '{token or 'the end'}'")
        return Expression("ref", ref=take().lower())

    parsed = either()
    if position != len(tokens):
        raise SpecError(f"extended condition '{text}': unexpected '{tokens[position]}'")
    return parsed


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
