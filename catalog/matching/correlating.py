"""Correlation rules over the events of a file: the catalog's side of catalog.core.sigma.correlation.

`Correlator.for_catalog()` reads the live correlation rules (one query) and the legacy pipe aggregations
matching compiled (catalog.matching.compiled: `Candidate.aggregated`), and resolves what they name against
the detection rules matching runs (by id and by name). `add(event, result)` is called after base matching
with each event and its EventResult (catalog.matching.engine), in file order; it feeds the evaluator the
hits of the rules some correlation names, with the values of the fields they group by. Each hit's
explanation is computed only for the events a result shows. `summary()` is the plain JSON kept with the
file's results under "correlations".

Events are fed in file order; the evaluator holds them CATALOG_CORRELATION_REORDER_SECONDS to put slightly
out-of-order timestamps right (see the core package's docstring for the rest).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from django.conf import settings

from catalog.core.sigma.correlation import (
    BaseHit,
    Evaluator,
    Observation,
    SpecError,
    legacy_spec,
    parse_correlation,
    parse_timestamp,
    selection_key,
)
from catalog.core.sigma.correlation.evaluator import Undecidable
from catalog.core.sigma.event_files import LoggedEvent
from catalog.models import Rule

from . import engine
from .explaining import explain_rules


class Correlator:
    def __init__(self, evaluator: Evaluator, keys: dict[int, str], file: str = ""):
        self.evaluator = evaluator
        self.keys = keys  # rule pk -> the key its hits are fed under (only rules some correlation names)
        self.file = file

    @classmethod
    def for_catalog(cls, file: str = "") -> Correlator:
        """A correlator with its own evaluator state, over what the catalog's version keeps prepared."""
        base_rules, keys, specs, undecidable = _prepared(engine.warm())
        evaluator = _evaluator(specs, base_rules)
        evaluator.undecidable[:0] = undecidable
        return cls(evaluator, keys, file)

    @property
    def active(self) -> bool:
        return bool(self.keys)

    def add(self, event: LoggedEvent, result: engine.EventResult) -> None:
        if not self.keys:
            return
        hits = []
        for rule in [*result.rules, *result.selections]:
            key = self.keys.get(rule.pk)
            if key is None:
                continue
            values = _values(event.flat, self.evaluator.needs(key))
            hits.append(BaseHit(key, values, _shown(rule, event.flat, result.via)))
        timestamp = parse_timestamp(event.timestamp)
        self.evaluator.feed(Observation(timestamp, event.number, tuple(hits), event.timestamp, self.file))

    def summary(self) -> dict[str, Any]:
        self.evaluator.finish()
        return self.evaluator.summary()


def _values(flat: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """The event's values of the fields named, found as written or, failing that, in any case."""
    values, lowered = {}, None
    for name in names:
        if name in flat:
            values[name] = flat[name]
            continue
        if lowered is None:
            lowered = {key.lower(): key for key in flat}
        key = lowered.get(name.lower())
        if key is not None:
            values[name] = flat[key]
    return values


def _shown(rule: Rule, flat: dict[str, Any], via: dict):
    """What a correlation result shows of this hit, computed only if the result shows the event."""

    def shown() -> dict[str, Any]:
        explanation = explain_rules([rule], flat, via).get(rule.pk)
        return {
            "rule": {"id": str(rule.uuid), "title": rule.title, "level": rule.effective_level or ""},
            "explanation": explanation,
        }

    return shown


# (compiled catalog, what for_catalog reads from it): a scan of 593 files made a correlator per file, and reading
# the catalog's correlations (3,800 candidates and a query) was 31 ms of each. The compiled catalog is one object
# per catalog version (catalog.matching.engine), so a new version is read afresh. What is kept is never changed:
# specs are frozen, and each correlator gets its own copies of the lists and the evaluator's state.
_kept: tuple[object, tuple] | None = None


def _prepared(catalog) -> tuple[dict, dict, tuple, tuple]:
    global _kept
    kept = _kept
    if kept is not None and kept[0] is catalog:
        return kept[1]
    base_rules, keys, specs, undecidable = {}, {}, [], []
    for candidate in catalog.candidates:
        rule = candidate.rule
        if candidate.aggregated:
            key = selection_key(str(rule.uuid))
            base_rules[key] = keys[rule.pk] = key
            try:
                timeframe = rule.other_fields.get("timeframe")
                specs.append(legacy_spec(str(rule.uuid), rule.title, rule.effective_level, rule.conditions, timeframe))
            except SpecError as exc:  # compiled.build only admits readable ones; kept honest regardless
                undecidable.append(Undecidable(str(rule.uuid), rule.title, str(exc)))
            continue
        uuid = str(rule.uuid).lower()
        base_rules[uuid] = uuid
        if rule.name:
            base_rules.setdefault(rule.name.lower(), uuid)
        keys[rule.pk] = uuid
    for rule in (
        Rule.objects.live()
        .filter(rule_type="correlation")
        .only("uuid", "name", "title", "level", "level_override", "correlation")
    ):
        try:
            spec = parse_correlation(str(rule.uuid), rule.name, rule.title, rule.effective_level, rule.correlation)
            specs.append(spec)
        except SpecError as exc:
            undecidable.append(Undecidable(str(rule.uuid), rule.title, str(exc)))
    # Read-only views (an evaluator only looks names up), and only the rules some correlation needs the hits of:
    # copying and filtering the 3,800 of them was 1 ms of each file of a scan.
    base_rules = MappingProxyType(base_rules)
    wanted = _evaluator(specs, base_rules).base_keys
    keys = MappingProxyType({pk: key for pk, key in keys.items() if key in wanted})
    prepared = (base_rules, keys, tuple(specs), tuple(undecidable))
    _kept = (catalog, prepared)
    return prepared


def _evaluator(specs, base_rules) -> Evaluator:
    return Evaluator(
        list(specs),
        base_rules,
        reorder_seconds=settings.CATALOG_CORRELATION_REORDER_SECONDS,
        shown_events=settings.CATALOG_CORRELATION_SHOWN_EVENTS,
        max_results=settings.CATALOG_CORRELATION_MAX_RESULTS,
    )
