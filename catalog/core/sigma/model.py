"""The parsed form of a Sigma rule, as plain dataclasses the importer persists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .polarity import combined


@dataclass(frozen=True)
class IndicatorKey:
    """What a rule looks for: the identity is (field, kind, value, transforms, cased).

    `value` is the comparison form (casefolded unless cased or regex); `display` is the value
    as written, without the outer wildcards that the kind already expresses.
    """

    field: str
    kind: str
    value: str
    transforms: str = ""
    cased: bool = False
    display: str = field(default="", compare=False)

    @property
    def identity(self) -> tuple:
        return (self.field, self.kind, self.value, self.transforms, self.cased)


@dataclass
class ParsedPredicate:
    """One `field|modifiers: values` item of a detection block."""

    position: int
    group: int  # which map of a list-of-maps block (0 for a plain map)
    field: str  # '' for keywords
    modifiers: list[str]
    values: list[Any]  # as Sigma means them: str (with Sigma escapes), int/float, bool or None
    combine: str  # 'any' (OR, the default) or 'all' (the `all` modifier)
    indicators: list[IndicatorKey] = field(default_factory=list)
    polarity: str = "looks_for"  # of its block in the condition: looks_for, excludes or both (sigma.polarity)


@dataclass
class ParsedStage:
    index: int  # 0 = the condition
    name: str
    text: str
    predicates: list[ParsedPredicate] = field(default_factory=list)
    block_combine: str = "and"  # how the predicates (or the maps of a list) combine


@dataclass
class ParsedRule:
    uuid: str
    title: str
    rule_type: str  # 'rule', 'correlation' or 'filter'
    doc_line: int
    yaml_text: str
    id_derived: bool = False
    name: str = ""
    status: str = ""
    level: str = ""
    description: str = ""
    author: str = ""
    date: dt.date | None = None
    modified: dt.date | None = None
    license: str = ""
    taxonomy: str = ""
    references: list[str] = field(default_factory=list)
    falsepositives: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    related: list[dict] = field(default_factory=list)
    product: str = ""
    category: str = ""
    service: str = ""
    logsource: dict = field(default_factory=dict)
    other_fields: dict = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)
    condition_tree: list[Any] | None = None
    stages: list[ParsedStage] = field(default_factory=list)
    correlation: dict = field(default_factory=dict)
    filter_rules: list[str] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    # The pySigma object the rule was read from (after the lenient repairs), for the validators
    # (catalog.core.quality); never persisted.
    sigma_rule: Any = field(default=None, repr=False, compare=False)

    def indicators(self) -> list[IndicatorKey]:
        """Distinct indicators of the rule, in order of appearance."""
        return [key for key, _ in self.indicator_polarities()]

    def indicator_polarities(self) -> list[tuple[IndicatorKey, str]]:
        """Distinct indicators with the rule's polarity for each: `both` when blocks of both kinds hold it."""
        seen: dict[tuple, tuple[IndicatorKey, set[str]]] = {}
        for stage in self.stages:
            for predicate in stage.predicates:
                for key in predicate.indicators:
                    seen.setdefault(key.identity, (key, set()))[1].add(predicate.polarity)
        return [(key, combined(polarities)) for key, polarities in seen.values()]
