"""Which rules of the catalog does a logged event trigger? Rules rebuilt from stored data.

Every event has a log source, picked by the caller (`source=`) or inferred from its fields
(catalog.matching.logsources), and returned with the result. Only the rules of that log source
run (catalog.matching.compiled): a Windows event against the Windows rules whose event coverage
fits its channel and event id, and against the rules of each category the taxonomy maps it to, read
with the renames (catalog.matching.mapped: a Security 4688 runs process_creation rules); an event of
unknown source against none.

Among those, an index of every rule's required literals (catalog.core.sigma.index: a hash of exact
values, an Aho-Corasick automaton of contains / startswith / endswith literals) picks the rules
whose literals the event holds, plus the few that require none (a regex-only or negation-only
rule); the full three-valued evaluator (catalog.core.sigma.evaluate) then decides each. The index only
leaves out rules that cannot fire, so the result is the one of evaluating every rule of the log
source (`indexed=False`, the reference the benchmark and tests/matching/test_match_index.py compare with).

Compiling the ~3,800 rules takes a few seconds, so the compiled catalog is kept per process and
rebuilt when the catalog version changes (an import or a curation), and stored on disk for the other
processes (catalog.matching.stored); see compiled.py on sharing.

Matching is bounded: `match_events` takes a time budget, checked between rules (and between items
of a rule), and says which events were not fully evaluated when it ran out. A rule regex RE2 cannot
run (backreference, lookaround) runs on the backtracking `regex` module within its own budget
(`regex_seconds`, shared by the events of one call): a search that runs out is undecided and its
pattern is reported in `cut_off`. Such regexes are listed by `uncompilable_rules()`.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from catalog.core.sigma import patterns
from catalog.core.sigma.evaluate import BudgetExceeded, CompiledRule, compile_rule, matches
from catalog.core.sigma.event_fields import record_fields
from catalog.core.sigma.values import DEFAULT_FALLBACK_SECONDS, EventView, RegexBudget
from catalog.core.taxonomy import channels
from catalog.models import CatalogVersion, Predicate, Rule, live_rules_q

from . import compiled as compiled_catalog
from . import kept, mapped, stored
from .compiled import CompiledCatalog, EventFacts
from .logsources import LogSource, infer, picked

__all__ = [
    "EventResult",
    "LogSource",
    "match_events",
    "matching_rules",
    "picked",
    "skipped_rules",
    "uncompilable_rules",
    "warm",
]


@dataclass
class EventResult:
    fields: int
    rules: list[Rule]
    complete: bool  # False: the time budget ran out before every candidate rule was evaluated
    source: LogSource = field(default_factory=LogSource)  # the log source the rules were chosen by
    cut_off: list[str] = field(default_factory=list)  # fallback regexes that ran out of time on it
    via: dict = field(default_factory=dict)  # rule pk -> the mapped source it fired through (Security 4688)
    # Rules with a legacy pipe aggregation whose selection matched: not hits of the rule, but what the
    # correlation it means counts (catalog.matching.correlating)
    selections: list[Rule] = field(default_factory=list)


def compiled_rule(rule: Rule) -> CompiledRule:
    predicates = Predicate.objects.filter(rule=rule).select_related("stage").order_by("stage__index", "position")
    return compile_rule(
        rule.condition_tree, [(p.stage.name, p.group, p.field, p.modifiers, p.values) for p in predicates]
    )


def _catalog() -> CompiledCatalog:
    number, changed_at = CatalogVersion.state()
    kept_now = kept.for_version(number)
    if kept_now.catalog is None:
        kept_now.catalog = stored.load(number, changed_at)
    if kept_now.catalog is None:
        kept_now.catalog = compiled_catalog.build()
        if CatalogVersion.state() == (number, changed_at):  # not changed while building: it is this version's
            stored.save(kept_now.catalog, number, changed_at)
    return kept_now.catalog


def warm() -> CompiledCatalog:
    """Compile the catalog now (e.g. in a `gunicorn --preload` master, before the workers fork), and read the
    Windows channel tables an event's log source is inferred from (pySigma's plugin discovery, 0.5 s): each
    forked worker of a scan paid it again on its first event."""
    channels.load()
    return _catalog()


_frozen = {"depth": 0, "lock": threading.Lock()}


@contextmanager
def collector_spared() -> Iterator[None]:
    """While a file is matched, the objects alive now (the compiled catalog: some hundreds of thousands, for as
    long as the process matches) are left out of the cycle collector's passes (gc.freeze), which otherwise walk
    them again and again: a fifth of a one-process scan. Nested uses keep them out until the outermost ends; a
    process forked inside (a scan's workers) inherits them frozen."""
    with _frozen["lock"]:
        if _frozen["depth"] == 0:
            gc.freeze()
        _frozen["depth"] += 1
    try:
        yield
    finally:
        with _frozen["lock"]:
            _frozen["depth"] -= 1
            if _frozen["depth"] == 0:
                gc.unfreeze()


def forget_compiled() -> None:
    """Drop the compiled rules: the next match compiles them again. For tests, whose rolled-back
    transactions can give the same catalog version number to different contents."""
    kept.forget()


def uncompilable_rules() -> list[tuple[Rule, str]]:
    """(rule, reason) for every regex of a live rule that RE2 cannot run (backreference, lookaround):
    matching runs it on the backtracking fallback within a time budget. Read from the stored
    predicates (cheap, once per catalog version), without compiling the catalog."""
    kept_now = kept.for_version(CatalogVersion.current())
    if kept_now.uncompilable is None:
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
        kept_now.uncompilable = sorted(((rules[r], reason) for r, reason in problems), key=lambda p: p[0].title)
    return kept_now.uncompilable


def skipped_rules() -> list[tuple[Rule, str]]:
    """(rule, reason) for every live detection rule matching leaves out, by title: one whose condition
    aggregates events (not decidable on single events), or that cannot be rebuilt (catalog.core.sigma.decidable)."""
    skipped = _catalog().skipped
    rules = Rule.objects.in_bulk(list(skipped))
    return sorted(((rules[pk], reason) for pk, reason in skipped.items() if pk in rules), key=lambda p: p[0].title)


def matching_rules(event: dict, source: LogSource | None = None) -> list[Rule]:
    """The live, visible detection rules the (flattened) event triggers, by title. No time budget."""
    return match_events([event], None, source=source)[0].rules


def match_events(
    events: list[dict],
    budget_seconds: float | None,
    source: LogSource | None = None,
    regex_seconds: float | None = None,
    indexed: bool = True,
) -> list[EventResult]:
    """The rules each (flattened) event triggers, all within one time budget. Events the budget did
    not reach, or reached only partly, come back with complete=False (and the rules found so far).

    source: the log source of every event, as picked by the user (catalog.matching.engine.picked); None:
    inferred per event. regex_seconds: the time the backtracking fallback may take over all the
    events (None: DEFAULT_FALLBACK_SECONDS per event). indexed=False is today's evaluator, the
    reference: every rule of the event's log source evaluated, every string compared by RE2."""
    catalog = _catalog()  # compiling (once per catalog version) is the catalog's cost, not the request's
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    shared_budget = None if regex_seconds is None else RegexBudget(regex_seconds)
    results = []
    for event in events:
        regexes = shared_budget or RegexBudget(DEFAULT_FALLBACK_SECONDS)
        already_cut = len(regexes.cut_off)
        view = EventView(event, deadline, regexes, plain=indexed)  # the reference reads every string with RE2
        record = record_fields(event)  # the log it was written to, where the event's data names another
        facts = EventFacts.of(record)
        event_source = source or infer(record, view.lowered)
        hits, complete, via, selections = [], True, {}, []
        try:
            view.check_deadline()
            for candidate in catalog.candidates_for(event, facts, catalog.pool(facts, event_source), indexed):
                if matches(candidate.compiled, view):
                    (selections if candidate.aggregated else hits).append(candidate.rule)
            for candidate, source_used in mapped.hits(catalog, event, event_source, view, indexed):
                found = selections if candidate.aggregated else hits
                if candidate.rule not in found:
                    found.append(candidate.rule)
                    via[candidate.rule.pk] = source_used
        except BudgetExceeded:
            complete = False
        cut_off = list(dict.fromkeys(regexes.cut_off[already_cut:]))
        hits.sort(key=lambda rule: rule.title)
        results.append(EventResult(len(event), hits, complete and not cut_off, event_source, cut_off, via, selections))
    return results
