"""The evaluator: correlation specs resolved against the catalog, fed base-rule hits in time order.

See the package docstring (catalog/core/sigma/correlation/__init__.py) for the interface and the semantics.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .nodes import Node
from .spec import NUMERIC_TYPES, CorrelationSpec
from .windows import Entry

DEFAULT_REORDER_SECONDS = 5.0
DEFAULT_SHOWN_EVENTS = 10
DEFAULT_MAX_RESULTS = 1000


@dataclass(frozen=True)
class BaseHit:
    """A base rule that fired on an event, with the values of the fields its correlations read."""

    rule: str  # the base rule's key: its id, lowercase (a legacy aggregation: legacy.selection_key)
    values: dict[str, Any]  # field -> the event's value, for the fields `Evaluator.needs(rule)` names
    shown: Any = None  # what a result shows of the hit: a value, or a zero-argument callable giving it


@dataclass(frozen=True)
class Observation:
    """One event with its base-rule hits (only the hits of rules some correlation names matter)."""

    timestamp: float | None  # seconds since the epoch (timestamps.parse_timestamp); None: not correlated
    number: int
    hits: tuple[BaseHit, ...] = ()
    time_text: str = ""  # as logged, for display
    file: str = ""


@dataclass
class Undecidable:
    key: str
    title: str
    reason: str


@dataclass
class Evaluator:
    specs: Iterable[CorrelationSpec]
    base_rules: dict[str, str]  # reference (id or name, lowercase) -> base rule key
    reorder_seconds: float = DEFAULT_REORDER_SECONDS
    shown_events: int = DEFAULT_SHOWN_EVENTS
    max_results: int = DEFAULT_MAX_RESULTS
    on_fire: Callable[[dict], None] | None = None
    results: list[dict] = field(default_factory=list)
    results_left_out: int = 0
    undecidable: list[Undecidable] = field(default_factory=list)
    late: int = 0  # events that came more than reorder_seconds after a later one: not correlated
    untimed: int = 0  # events with hits but no readable timestamp: not correlated

    def __post_init__(self):
        self.nodes: list[Node] = []  # innermost first
        self.by_base: dict[str, list[Node]] = {}
        self._seq = 0
        self._seen = -math.inf  # the latest timestamp fed
        self._clock = -math.inf  # everything up to here has been released and decided
        self._buffer: list = []  # heap of (ts, seq, observation): the reorder buffer
        self._resolve(list(self.specs))

    # -- building --------------------------------------------------------------------------------
    def _resolve(self, specs: list[CorrelationSpec]) -> None:
        by_ref: dict[str, list[CorrelationSpec]] = {}
        for spec in specs:
            for ref in filter(None, {spec.key, spec.name}):
                by_ref.setdefault(ref, []).append(spec)
        state: dict[str, str] = {}  # key -> "visiting" / "done" / "bad"
        built: dict[str, Node] = {}

        def build(spec: CorrelationSpec, path: tuple[str, ...]) -> Node | None:
            if state.get(spec.key) == "done":
                return built.get(spec.key)
            if spec.key in path:
                self._undecidable(spec, "it names itself through a chain of correlations (a cycle)")
                return None
            targets, inner, resolved = [], [], {}
            for ref in spec.rules:
                named = [s for s in by_ref.get(ref, []) if s.key != spec.key]
                if len(named) > 1:
                    return self._undecidable(spec, f"'{ref}' names several correlation rules")
                if named:
                    node = build(named[0], (*path, spec.key))
                    if node is None:
                        return self._undecidable(spec, f"the correlation '{ref}' it chains cannot be evaluated")
                    targets.append(node.spec.key)
                    inner.append(node)
                elif ref in self.base_rules:
                    targets.append(self.base_rules[ref])
                else:
                    return self._undecidable(spec, f"'{ref}' names no rule matching runs")
                resolved[ref] = targets[-1]
            node = Node(spec, tuple(targets), self.shown_events, self._emitted)
            for alias, mapping in spec.aliases.items():
                for ref, name in mapping.items():  # by name or id, as `rules` may name it the other way
                    found = resolved.get(ref) or self.base_rules.get(ref)
                    found = found or next((s.key for s in by_ref.get(ref, []) if s.key in targets), None)
                    if found not in targets:
                        return self._undecidable(spec, f"alias '{alias}' names '{ref}', not one of its rules")
                    node.aliases.setdefault(alias, {})[found] = name
            node.inner = inner
            node.lag = max([i.lag + (0.0 if i.spec.early else i.spec.timespan) for i in inner], default=0.0)
            for child in inner:
                child.outer.append(node)
            state[spec.key] = "done"
            built[spec.key] = node
            self.nodes.append(node)
            for target in dict.fromkeys(targets):
                if target not in {i.spec.key for i in inner}:
                    self.by_base.setdefault(target, []).append(node)
            return node

        for spec in specs:
            if spec.key not in state:
                build(spec, ())
                state.setdefault(spec.key, "bad")

    def _undecidable(self, spec: CorrelationSpec, reason: str) -> None:
        if all(u.key != spec.key for u in self.undecidable):
            self.undecidable.append(Undecidable(spec.key, spec.title, reason))
        return None

    def needs(self, rule: str) -> frozenset[str]:
        """The fields of an event that the correlations naming base rule `rule` read (BaseHit.values)."""
        wanted = set()
        for node in self.by_base.get(rule, ()):
            by, value = node.fields_for(rule)
            wanted.update(by)
            if value:
                wanted.add(value)
        return frozenset(wanted)

    @property
    def base_keys(self) -> frozenset[str]:
        """The base rules whose hits the evaluator needs."""
        return frozenset(self.by_base)

    # -- feeding ---------------------------------------------------------------------------------
    def feed(self, observation: Observation) -> None:
        """One event, in timestamp order give or take `reorder_seconds`. An event without hits only moves
        time on (it closes windows); it may be left out when no event around it has hits."""
        ts = observation.timestamp
        relevant = tuple(hit for hit in observation.hits if hit.rule in self.by_base)
        if ts is None:
            self.untimed += bool(relevant)
            return
        if ts < self._clock:
            self.late += bool(relevant)
            return
        if relevant:
            self._seq += 1
            heapq.heappush(
                self._buffer,
                (ts, self._seq, Observation(ts, observation.number, relevant, observation.time_text, observation.file)),
            )
        self._seen = max(self._seen, ts)
        self._advance(self._seen - self.reorder_seconds)

    def finish(self) -> list[dict]:
        """Decide every window still open (the end of the events closes them); the results, in time order."""
        self._advance(math.inf)
        return self.results

    def _advance(self, clock: float) -> None:
        if clock <= self._clock:
            return
        while self._buffer and self._buffer[0][0] <= clock:
            _, _, observation = heapq.heappop(self._buffer)
            self._route(observation)
        self._clock = clock
        for node in self.nodes:  # innermost first: a fire reaches the correlations chaining it in this pass
            if node.busy():
                node.step(clock)

    def _route(self, observation: Observation) -> None:
        entries: dict[tuple[int, tuple, Any], tuple[Node, Entry]] = {}
        for hit in observation.hits:
            for node in self.by_base[hit.rule]:
                placed = _place(node, hit)
                if placed is None:
                    node.not_grouped += 1
                    continue
                key, value = placed
                slot = (id(node), key, value)
                if slot in entries:  # one event, several rules of the same correlation: one entry
                    entry = entries[slot][1]
                    entry.rules += (hit.rule,)
                    entry.explain.append(hit.shown)
                    continue
                entry = Entry(
                    observation.timestamp,
                    observation.time_text,
                    observation.number,
                    observation.file,
                    (hit.rule,),
                    value,
                    explain=[hit.shown],
                )
                entries[slot] = (node, entry)
        for (_, key, _), (node, entry) in entries.items():
            self._seq += 1
            node.push(entry.ts, self._seq, key, entry)

    def _emitted(self, node: Node, fire: dict, when: float) -> None:
        if len(self.results) < self.max_results:
            self.results.append(fire)
            if self.on_fire is not None:
                self.on_fire(fire)
        else:
            self.results_left_out += 1
        summary = {"id": fire["id"], "title": fire["title"], "window": fire["window"], "count": fire["event_count"]}
        values = {item["field"]: item["value"] for item in fire["group"]}
        for outer in node.outer:
            by, _ = outer.fields_for(node.spec.key)
            if any(name not in values for name in by):
                outer.not_grouped += 1
                continue
            self._seq += 1
            entry = Entry(when, fire["window"]["end"], None, "", (node.spec.key,), None, explain=[summary])
            outer.push(when, self._seq, tuple(values[name] for name in by), entry)

    def summary(self) -> dict[str, Any]:
        """The grouped results as plain JSON (stored with a match job, written by match_event)."""
        return {
            "evaluated": len(self.nodes),
            "results": self.results,
            "results_left_out": self.results_left_out,
            "undecidable": [{"id": u.key, "title": u.title, "reason": u.reason} for u in self.undecidable],
            "late_events": self.late,
            "untimed_events": self.untimed,
            "not_grouped": sum(node.not_grouped for node in self.nodes),
            "reorder_seconds": self.reorder_seconds,
        }


def _place(node: Node, hit: BaseHit) -> tuple[tuple, Any] | None:
    """(group key, condition value) of a hit for one correlation; None when a field it needs is missing."""
    by, value_field = node.fields_for(hit.rule)
    key = []
    for name in by:
        value = _text(hit.values.get(name))
        if value is None:
            return None
        key.append(value)
    value = None
    if value_field:
        value = hit.values.get(value_field)
        if node.spec.type in NUMERIC_TYPES or (
            node.spec.type == "value_percentile" and node.spec.condition.percentile is not None
        ):
            value = _number(value)
        else:
            value = _text(value)
        if value is None:
            return None
    return tuple(key), value


def _text(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, (dict, list)) and not value:
        return None
    return value if isinstance(value, str) else str(value)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and "." not in str(value) else number
