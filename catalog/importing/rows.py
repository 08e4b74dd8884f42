"""The plain rows a prepared rule is made of, as the workers (catalog.importing.preparing) make them,
the checks (catalog.importing.checks) inspect them and the writer (catalog.importing.writer) stores them.

Their own module so that preparing and checks both import them and neither imports the other's importer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class StageRow(NamedTuple):
    index: int
    name: str
    text: str
    combine: str


class PredicateRow(NamedTuple):
    stage_index: int
    position: int
    group: int
    field: str
    modifiers: str  # JSON
    values: str  # JSON
    combine: str
    polarity: str  # looks_for, excludes or both (catalog.core.sigma.polarity)


class IndicatorRow(NamedTuple):
    key: str  # identity hash
    field: str
    kind: str
    value: str
    transforms: str
    cased: bool
    display: str
    polarity: str  # in this rule (not part of the indicator's identity)


class EventRow(NamedTuple):
    provider: str
    event_id: int | None
    title: str


class ReferenceRow(NamedTuple):
    kind: str
    relation: str
    target: str


@dataclass
class PreparedRule:
    """A rule ready to be written: column values and child rows as plain values and named tuples.

    Plain values cross the process boundary several times faster than dataclass trees.
    """

    uuid: str
    doc_line: int
    warnings: list[tuple[int, str]]  # (line within the rule's document, message)
    content_hash: str
    columns: dict[str, Any]  # Rule's Sigma columns as Python values, but for ...
    encoded: dict[str, str]  # ... the JSON ones, as JSON text (each value crosses processes once)
    stages: list[StageRow]
    predicates: list[PredicateRow]
    indicators: list[IndicatorRow]
    tactics: list[str]
    techniques: list[str]
    events: list[EventRow]
    references: list[ReferenceRow]
    matchable: bool = True  # False: event matching cannot compile it (a warning says why)
