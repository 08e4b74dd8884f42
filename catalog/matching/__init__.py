"""Which rules of the catalog does a logged event trigger? Rules rebuilt from stored data.

A rule only applies to events of its log source, so candidates are chosen first: a Windows event
(it names its channel) is checked against Windows rules whose event coverage fits its channel and
event id (a process_creation rule covers Sysmon event 1, not event 7); other events against the
non-Windows rules. Compiling the ~3,800 rules takes a moment, so the compiled set is kept per
process and rebuilt when the catalog version changes (an import or a curation change).

Matching is bounded: `match_events` takes a time budget, checked between rules (and between
items of a rule), and says which events were not fully evaluated when it ran out. A rule whose
regex RE2 cannot run is kept (it may still fire through its other branches) and listed by
`uncompilable_rules()`; a rule that cannot be rebuilt at all is logged.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from catalog.models import CatalogVersion, Predicate, Rule, live_rules_q
from catalog.sigma import patterns
from catalog.sigma.evaluate import BudgetExceeded, CompiledRule, EventView, compile_rule, matches

log = logging.getLogger(__name__)


@dataclass
class CompiledCatalog:
    candidates: list[Candidate]

    def __post_init__(self):
        # Indexed by log source, so an event is only tried against the rules of its own.
        self.non_windows = [c for c in self.candidates if c.rule.product != "windows"]
        self.windows_anywhere = [c for c in self.candidates if c.rule.product == "windows" and not c.coverage]
        self.by_provider: dict[str, list[tuple[Candidate, set]]] = defaultdict(list)
        for candidate in self.candidates:
            if candidate.rule.product == "windows":
                for provider, ids in candidate.coverage.items():
                    self.by_provider[provider].append((candidate, ids))

    def candidates_for(self, event: EventFacts) -> list[Candidate]:
        """The rules that apply to an event: a Windows event (it names its channel) is checked against
        Windows rules whose event coverage fits its channel and event id, other events against the
        non-Windows rules; and only rules reading at least one field the event has (see Candidate)."""
        if event.channel is None:
            pool = self.non_windows
        else:
            pool = list(self.windows_anywhere)
            chosen = set()
            for provider, entries in self.by_provider.items():
                if provider in event.channel:
                    for candidate, ids in entries:
                        if (None in ids or event.event_id in ids) and id(candidate) not in chosen:
                            chosen.add(id(candidate))
                            pool.append(candidate)
        return [c for c in pool if c.fields is None or not c.fields.isdisjoint(event.fields)]


_compiled: dict[int, CompiledCatalog] = {}
_uncompilable: dict[int, list[tuple[Rule, str]]] = {}


@dataclass
class EventResult:
    fields: int
    rules: list[Rule]
    complete: bool  # False: the time budget ran out before every candidate rule was evaluated


@dataclass
class Candidate:
    rule: Rule
    compiled: CompiledRule
    coverage: dict[str, set] = field(default_factory=dict)  # provider (lowercase) -> event ids (None: any)
    # The fields it reads, lowercase (None: it has keywords, found in any field). An event carrying
    # none of them cannot decide the rule either way (`not selection` on a field the event lacks
    # would otherwise fire on any event, `{}` included).
    fields: frozenset[str] | None = None

    def __post_init__(self):
        items = [item for block in self.compiled.blocks.values() for group in block.groups for item in group]
        if items and all(item.field for item in items):
            self.fields = frozenset(item.field.lower() for item in items)


@dataclass
class EventFacts:
    """What choosing candidate rules needs to know of an event, worked out once per event."""

    fields: set[str]
    channel: str | None  # "channel|provider", lowercase without spaces; None: not a Windows event
    event_id: int | None

    @classmethod
    def of(cls, event: dict) -> EventFacts:
        # Compared without spaces: the provider "Task Scheduler" logs to "Microsoft-Windows-TaskScheduler/...".
        channel = "|".join(str(event.get(k) or "") for k in ("Channel", "Provider_Name")).lower().replace(" ", "")
        return cls({key.lower() for key in event}, None if channel == "|" else channel, _int(event.get("EventID")))


def compiled_rule(rule: Rule) -> CompiledRule:
    predicates = Predicate.objects.filter(rule=rule).select_related("stage").order_by("stage__index", "position")
    return compile_rule(
        rule.condition_tree, [(p.stage.name, p.group, p.field, p.modifiers, p.values) for p in predicates]
    )


def _catalog() -> CompiledCatalog:
    version = CatalogVersion.current()
    if version not in _compiled:
        rules = {
            r.pk: r
            for r in Rule.objects.live()
            .filter(rule_type="rule", condition_tree__isnull=False)
            .only("pk", "uuid", "title", "level", "level_override", "product", "category", "service", "condition_tree")
        }
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
            coverage[rule_id][provider.lower().replace(" ", "")].add(event_id)
        candidates = []
        for pk, rule in rules.items():
            try:
                compiled = compile_rule(rule.condition_tree, predicates[pk])
            except Exception as exc:  # a rule pySigma can no longer rebuild is left out, and said so
                log.warning("rule %s (%s) cannot be rebuilt for matching: %s", rule.uuid, rule.title, exc)
                continue
            candidates.append(Candidate(rule, compiled, dict(coverage[pk])))
        _compiled.clear()
        _compiled[version] = CompiledCatalog(candidates)
    return _compiled[version]


def forget_compiled() -> None:
    """Drop the compiled rules: the next match compiles them again. For tests, whose rolled-back
    transactions can give the same catalog version number to different contents."""
    _compiled.clear()
    _uncompilable.clear()


def uncompilable_rules() -> list[tuple[Rule, str]]:
    """(rule, reason) for every regex of a live rule that RE2 cannot run (backreference, lookaround):
    matching takes it as undecidable, so it never fires by itself. Read from the stored predicates
    (cheap, once per catalog version), without compiling the catalog."""
    version = CatalogVersion.current()
    if version not in _uncompilable:
        problems = []
        rows = Predicate.objects.filter(
            live_rules_q("rule"), rule__rule_type="rule", modifiers__icontains='"re"'
        ).values_list("rule_id", "modifiers", "values")
        for rule_id, modifiers, values in rows:
            if "re" in modifiers:
                problems.extend(
                    (rule_id, str(source))
                    for source in map(patterns.regex_source, map(str, values))
                    if isinstance(source, patterns.Uncompilable)
                )
        rules = Rule.objects.in_bulk({rule_id for rule_id, _ in problems})
        _uncompilable.clear()
        _uncompilable[version] = sorted(((rules[r], reason) for r, reason in problems), key=lambda p: p[0].title)
    return _uncompilable[version]


def matching_rules(event: dict) -> list[Rule]:
    """The live, visible detection rules the (flattened) event triggers, by title. No time budget."""
    return _match(EventView(event))


def match_events(events: list[dict], budget_seconds: float | None) -> list[EventResult]:
    """The rules each (flattened) event triggers, all within one time budget. Events the budget did
    not reach, or reached only partly, come back with complete=False (and the rules found so far)."""
    _catalog()  # compiling (once per catalog version) is the catalog's cost, not the request's
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    results = []
    for event in events:
        view = EventView(event, deadline)
        try:
            view.check_deadline()
            results.append(EventResult(len(event), _match(view), True))
        except BudgetExceeded as exc:
            results.append(EventResult(len(event), exc.args[0] if exc.args else [], False))
    return results


def _match(view: EventView) -> list[Rule]:
    hits = []
    try:
        for candidate in _catalog().candidates_for(EventFacts.of(view.event)):
            if matches(candidate.compiled, view):
                hits.append(candidate.rule)
    except BudgetExceeded:
        raise BudgetExceeded(sorted(hits, key=lambda rule: rule.title)) from None
    return sorted(hits, key=lambda rule: rule.title)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
