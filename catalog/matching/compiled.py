"""The catalog compiled for matching: every live detection rule, its log source, and the index.

Compiled once per catalog version and kept per process (catalog.matching.engine). Building it reads the
rules' stored conditions and predicates, has pySigma prepare their values (catalog.core.sigma.evaluate)
and works out each rule's required literals (catalog.core.sigma.requirements). Each *pool* (the rules of
one log source: a Windows channel and event id, or a product / category / service) gets its own
LiteralIndex when first met, so an event is only read for the literals of its own rules; a mapped
event (Security 4688 seen as process_creation: catalog.matching.mapped) gets the pool of that category.

Sharing across processes: the compiled catalog is rebuilt whenever an import or a curation bumps the
catalog version. The first process to need a version compiles it and writes it to disk
(catalog.matching.stored); every other process (a scan, its workers, a task worker, a web worker) loads
that file instead of compiling. Its pickled state is what `build` made and nothing more: rules as their
field values (a Django model instance unpickles slowly), no per-log-source index, no RE2 program
(values.Pattern). A `gunicorn --preload` master can also load or build it before forking by calling
`catalog.matching.engine.warm()` (then `django.db.connections.close_all()`), and a scan's pool forks its
workers after loading it (catalog.matching.scanning): the workers then share its memory copy-on-write.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from catalog.core.sigma import decidable, requirements
from catalog.core.sigma.evaluate import CompiledRule, compile_rule
from catalog.core.sigma.index import LiteralIndex
from catalog.core.taxonomy import provider_slug, services_of
from catalog.models import Predicate, Rule

from .logsources import LogSource

log = logging.getLogger(__name__)
MAX_POOLS = 512  # distinct log sources kept with their index; past that they are rebuilt as met


@dataclass
class Candidate:
    rule: Rule
    compiled: CompiledRule
    coverage: dict[str, set] = field(default_factory=dict)  # provider slug (a service) -> event ids (None: any)
    # A legacy pipe aggregation's rule: its selection runs, and its hits feed the correlation it means
    # (catalog.matching.correlating), never reported as the rule firing.
    aggregated: bool = False
    # The fields it reads, lowercase (None: it has keywords, found in any field). An event carrying
    # none of them cannot decide the rule either way (`not selection` on a field the event lacks
    # would otherwise fire on any event, `{}` included).
    fields: frozenset[str] | None = None

    def __post_init__(self):
        items = [item for block in self.compiled.blocks.values() for group in block.groups for item in group]
        if items and all(item.field for item in items):
            self.fields = frozenset(item.field.lower() for item in items)

    def reads(self, fields: set[str]) -> bool:
        return self.fields is None or not self.fields.isdisjoint(fields)


@dataclass
class EventFacts:
    """What choosing candidate rules needs to know of an event, worked out once per event."""

    fields: set[str]
    channel: tuple[str, str] | None  # (Channel, Provider_Name); None: not a Windows event
    event_id: int | None

    @classmethod
    def of(cls, event: dict) -> EventFacts:
        channel = tuple(str(event.get(k) or "") for k in ("Channel", "Provider_Name"))
        return cls({key.lower() for key in event}, channel if any(channel) else None, _int(event.get("EventID")))


@dataclass
class Pool:
    members: tuple[int, ...]  # candidate numbers, in catalog order
    index: LiteralIndex


class CompiledCatalog:
    def __init__(self, candidates: list[Candidate], skipped: dict[int, str] | None = None):
        self.candidates = candidates
        self.skipped = skipped or {}  # rule pk -> why matching leaves it out (catalog.core.sigma.decidable)
        self.requirements = requirements.resolve([requirements.compiled_need(c.compiled) for c in candidates])
        self.windows_anywhere = [i for i, c in enumerate(candidates) if c.rule.product == "windows" and not c.coverage]
        self.by_provider: dict[str, list[tuple[int, set]]] = defaultdict(list)
        self.by_category: dict[str, list[int]] = defaultdict(list)  # Windows rules, for mapped events
        for number, candidate in enumerate(candidates):
            if candidate.rule.product == "windows":
                for provider, ids in candidate.coverage.items():
                    self.by_provider[provider].append((number, ids))
                self.by_category[candidate.rule.category.casefold()].append(number)
        self._pools: dict[tuple, Pool] = {}
        self._compiled: dict[int, CompiledRule] | None = None

    def compiled(self, pk: int) -> CompiledRule | None:
        """The rule's compiled form, as matching runs it (None: a rule matching leaves out)."""
        if self._compiled is None:
            self._compiled = {c.rule.pk: c.compiled for c in self.candidates}
        return self._compiled.get(pk)

    def __getstate__(self):
        """Pickled (catalog.matching.stored): the rules as their field values, without the indexes built since."""
        state = dict(self.__dict__, _pools={}, _compiled=None)
        state["candidates"] = [
            (tuple(getattr(c.rule, name) for name in _stored_fields()), c.compiled, c.coverage, c.fields)
            for c in self.candidates
        ]
        return state

    def __setstate__(self, state):
        candidates = []
        for values, compiled, coverage, fields in state["candidates"]:
            candidate = Candidate.__new__(Candidate)  # its fields as built, without __post_init__ again
            candidate.rule = Rule.from_db("default", _stored_fields(), values)
            candidate.compiled, candidate.coverage, candidate.fields = compiled, coverage, fields
            candidates.append(candidate)
        self.__dict__.update(state, candidates=candidates)

    def pool(self, facts: EventFacts, source: LogSource) -> Pool:
        """The rules that apply to an event of that log source. A Windows event (it names its channel)
        whose source was not picked by the user: the Windows rules whose event coverage fits its
        services (those whose channel it is, catalog.core.taxonomy.channels) and event id, and those without
        coverage. Otherwise: the rules `source` admits."""
        by_coverage = facts.channel is not None and not source.picked and source.product == "windows"
        services = services_of(*facts.channel) if by_coverage else ()
        key = ("coverage", services, facts.event_id) if by_coverage else ("source", source.label)
        pool = self._pools.get(key)
        if pool is None:
            members = self._by_coverage(services, facts.event_id) if by_coverage else self._by_source(source)
            if len(self._pools) >= MAX_POOLS:
                self._pools.clear()
            pool = self._pools[key] = Pool(members, LiteralIndex({i: self.requirements[i] for i in members}))
        return pool

    def mapped_pool(self, source) -> Pool:
        """The Windows rules of the category a mapped event backs (catalog.matching.mapped)."""
        key = ("mapped", source.token, source.category)
        pool = self._pools.get(key)
        if pool is None:
            members = tuple(self.by_category.get(source.category, ()))
            if len(self._pools) >= MAX_POOLS:
                self._pools.clear()
            pool = self._pools[key] = Pool(members, LiteralIndex({i: self.requirements[i] for i in members}))
        return pool

    def _by_coverage(self, services: tuple[str, ...], event_id: int | None) -> tuple[int, ...]:
        chosen = set(self.windows_anywhere)
        for service in services:
            entries = self.by_provider.get(service, ())
            chosen.update(number for number, ids in entries if None in ids or event_id in ids)
        return tuple(sorted(chosen))

    def _by_source(self, source: LogSource) -> tuple[int, ...]:
        return tuple(
            number
            for number, candidate in enumerate(self.candidates)
            if source.admits(candidate.rule.product, candidate.rule.category, candidate.rule.service)
        )

    def candidates_for(self, event: dict, facts: EventFacts, pool: Pool, indexed: bool = True) -> list[Candidate]:
        """The pool's rules that may fire on the event: those whose required literals it holds and
        those that require none (`indexed`), or every rule of the pool (the reference); in both
        cases only rules reading at least one field the event has (see Candidate)."""
        candidates = self.candidates
        if not indexed:
            return [candidates[i] for i in pool.members if candidates[i].reads(facts.fields)]
        chosen = pool.index.hits(event)  # a hit is on a field the event has: it reads one
        chosen.update(i for i in pool.index.always if candidates[i].reads(facts.fields))
        return [candidates[i] for i in sorted(chosen)]

    def memory_parts(self) -> dict[str, int]:
        return {"pools": len(self._pools), "atoms": sum(p.index.atoms for p in self._pools.values())}


# What a candidate's rule carries (for grouping, explaining and the pages that show hits): the rule is read with
# these fields only, and pickled as their values.
RULE_FIELDS = (
    *("id", "uuid", "title", "rule_type", "level", "level_override", "product", "category", "service"),
    *("conditions", "condition_tree"),
    # A correlation names its base rules by `name`; a legacy aggregation reads its `timeframe` in other_fields.
    *("name", "other_fields"),
)


@cache
def _stored_fields() -> tuple[str, ...]:
    """RULE_FIELDS in the model's field order, which Model.from_db reads values in."""
    return tuple(f.attname for f in Rule._meta.concrete_fields if f.attname in RULE_FIELDS)


def build() -> CompiledCatalog:
    """Every live detection rule matching can decide, compiled from its stored rows; the others are
    left out with their reason (`skipped`), never failing the build or a match."""
    rules, skipped = {}, {}
    for rule in Rule.objects.live().filter(rule_type="rule").only(*RULE_FIELDS):
        reason = decidable.stored_problem(rule.conditions, rule.condition_tree, rule.other_fields.get("timeframe"))
        if reason:
            skipped[rule.pk] = reason
        else:
            rules[rule.pk] = rule
    predicates = defaultdict(list)
    for rule_id, block, group, field_name, modifiers, values in (
        Predicate.objects.filter(rule_id__in=list(rules))
        .order_by("rule_id", "stage__index", "position")
        .values_list("rule_id", "stage__name", "group", "field", "modifiers", "values")
    ):
        predicates[rule_id].append((block, group, field_name, modifiers, values))
    coverage = defaultdict(lambda: defaultdict(set))
    for rule_id, provider, event_id in Rule.events.through.objects.values_list(
        "rule_id", "eventtype__provider", "eventtype__event_id"
    ):
        coverage[rule_id][provider_slug(provider)].add(event_id)
    candidates = []
    for pk, rule in rules.items():
        try:
            compiled = compile_rule(rule.condition_tree, predicates[pk])
        except Exception as exc:  # a rule pySigma can no longer rebuild is left out, and said so
            log.warning("rule %s (%s) cannot be rebuilt for matching: %s", rule.uuid, rule.title, exc)
            skipped[pk] = f"it cannot be rebuilt for matching: {type(exc).__name__}: {str(exc)[:300]}"
            continue
        candidates.append(Candidate(rule, compiled, dict(coverage[pk]), decidable.aggregates(rule.conditions)))
    return CompiledCatalog(candidates, skipped)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
