"""Explanations of stored rules: each rule's predicates read once, compiled as the matcher compiles them.

The compiled form is built by `catalog.core.sigma.evaluate.compile_rule` from the same stored rows
(block, map, field, modifiers, values) `catalog.matching.engine` uses, so an explanation's verdict is the
matcher's (tests/matching/test_evaluate.py checks it on every SigmaHQ regression event); where this process
holds the compiled catalog (it matched), the rule's compiled form is taken from it rather than compiled again
(a scan's worker compiled some 200 rules again, 0.5 s). Compiled rules are kept per catalog version
(catalog.matching.kept, the matcher's own cache), for the few hundred rules that fire in practice.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from catalog.core.sigma import decidable
from catalog.core.sigma.evaluate import CompiledRule, EventView, compile_rule
from catalog.core.sigma.explain import PredicateRows, explain, matched_only
from catalog.core.taxonomy import Source, mapping
from catalog.matching import kept, mapped
from catalog.matching.budget import ExplanationBudget
from catalog.models import CatalogVersion, Predicate, Rule

MAX_KEPT = 2000  # rules compiled for explanations, kept per process


def rule_parts(rules: list[Rule], version: int | None = None) -> dict[int, tuple[CompiledRule, list[tuple]]]:
    """(compiled rule, stored predicate rows) per rule pk, with one query for those not yet kept.
    `version`: the catalog version, when the caller has read it (else read here)."""
    kept_now = kept.for_version(CatalogVersion.current() if version is None else version)
    explained, matcher = kept_now.explained, kept_now.catalog
    missing = [rule for rule in rules if rule.pk not in explained and _decidable(rule)]
    if missing:
        rows = defaultdict(PredicateRows)
        for rule_id, block, group, field_name, modifiers, values in (
            Predicate.objects.filter(rule_id__in=[rule.pk for rule in missing])
            .order_by("rule_id", "stage__index", "position")
            .values_list("rule_id", "stage__name", "group", "field", "modifiers", "values")
        ):
            rows[rule_id].append((block, group, field_name, modifiers, values))
        if len(explained) + len(missing) > MAX_KEPT:
            explained.clear()
        for rule in missing:
            try:
                compiled = matcher.compiled(rule.pk) if matcher is not None else None
                if compiled is None:  # this process never matched, or matching leaves the rule out
                    compiled = compile_rule(rule.condition_tree, rows[rule.pk])
                explained[rule.pk] = (compiled, rows[rule.pk])
            except Exception:  # noqa: BLE001 - the matcher leaves such a rule out too (and logs it)
                continue
    return {rule.pk: explained[rule.pk] for rule in rules if rule.pk in explained}


def _decidable(rule: Rule) -> bool:
    """Whether matching runs the rule at all (catalog.core.sigma.decidable): one it skips is not explained."""
    timeframe = (rule.other_fields or {}).get("timeframe")  # a legacy aggregation's selection is explained too
    return rule.rule_type == "rule" and not decidable.stored_problem(rule.conditions, rule.condition_tree, timeframe)


def explain_rules(
    rules: list[Rule], event: dict[str, Any], through: dict[int, Source] | None = None
) -> dict[int, dict]:
    """The explanation of each rule on one flattened event, by rule pk (rules that cannot be
    rebuilt are left out, as the matcher leaves them out). `through`: as in explain_within."""
    parts = rule_parts(rules)
    view = EventView(event)
    return {
        pk: explained_on(compiled, predicates, event, view, (through or {}).get(pk))
        for pk, (compiled, predicates) in parts.items()
    }


def explained_on(compiled: CompiledRule, predicates: list[tuple], event: dict, view: EventView, source) -> dict:
    """One rule's explanation: on the event as it is, or read through a mapped source (with its `via`)."""
    if source is None:
        return explain(compiled, predicates, view)
    explanation = explain(compiled, predicates, mapped.view_for(event, source))
    explanation["via"] = mapping.describe(source)
    return explanation


def chosen_rule(rule_id) -> Rule | None:
    """A live, visible rule picked for "why not" by its id (None: no such rule, or not a detection)."""
    try:
        return Rule.objects.live().filter(uuid=rule_id, rule_type="rule").first()
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - a malformed id is simply no rule
        return None


def attach_explanations(
    events: list[dict], results: list[dict], why_not: Rule | None = None, budget: ExplanationBudget | None = None
) -> ExplanationBudget:
    """Give each match result (dicts with "rules") the explanations of its fired rules, by pk, and,
    for a chosen rule, its explanation on every event ("why_not"; its `fired` says whether it did).

    Within `budget` (catalog.matching.budget; from settings when None): past it an explanation is
    None and counted in the result's "explanations_left_out"; the chosen rule is explained first."""
    budget = budget or ExplanationBudget()
    for event, result in zip(events, results, strict=True):
        wanted = ([why_not] if why_not is not None else []) + [r for r in result["rules"] if r != why_not]
        through = dict(result.get("via") or {})  # rules that fired through a mapped event: read as they ran
        if why_not is not None and why_not.pk not in through:
            source = mapped.through(why_not, None, result.get("source"))
            if source is not None:
                through[why_not.pk] = source
        explained, left_out = explain_within(wanted, event, budget, through=through)
        result["explanations"] = {rule.pk: explained.get(rule.pk) for rule in result["rules"]}
        result["explanations_left_out"] = len(left_out)
        if why_not is not None:
            explanation = explained.get(why_not.pk)
            result["why_not"] = {"rule": why_not, "explanation": explanation, "left_out": why_not.pk in left_out}
        else:
            result["why_not"] = None
    return budget


def explain_within(
    rules: list[Rule],
    event: dict[str, Any],
    budget: ExplanationBudget,
    shown_with_event: bool = False,
    through: dict[int, Source] | None = None,
    version: int | None = None,
) -> tuple[dict[int, dict], set[int]]:
    """The rules' explanations on one event, in order, while `budget` has room: (explanation by pk, the
    pks left out, also counted in the budget). Rules that cannot be rebuilt are neither. `shown_with_event`:
    each explanation is stored with a copy of the event, which then counts towards the bytes too.
    `through`: rule pk -> the mapped source it is explained through (the event read with its renames;
    the explanation's `via` describes it). `version`: as in rule_parts."""
    parts = rule_parts(rules, version) if rules else {}
    explained: dict[int, dict] = {}
    view = EventView(event)
    through = through or {}
    for pk, (compiled, predicates) in parts.items():
        if not budget.room:
            break
        explanation = explained_on(compiled, predicates, event, view, through.get(pk))
        if not budget.admit(explanation, event if shown_with_event else None):
            break
        explained[pk] = explanation
    left_out = set(parts) - set(explained)
    budget.leave_out(len(left_out))
    return explained, left_out


def matched_within(
    rules: list[Rule], event: dict[str, Any], through: dict[int, Source] | None = None, version: int | None = None
) -> dict[int, list[dict]]:
    """Each rule's matched predicates on one event, by pk (catalog.core.sigma.explain.matched_only: those of its
    explanation, read through its mapped source as `explained_on` reads it), without the explanations: what a
    trusted scan prints (catalog.matching.scanning). Unbounded: such a scan keeps no explanation."""
    parts = rule_parts(rules, version) if rules else {}
    view = EventView(event)
    through = through or {}
    found = {}
    for pk, (compiled, predicates) in parts.items():
        source = through.get(pk)
        found[pk] = matched_only(compiled, predicates, view if source is None else mapped.view_for(event, source))
    return found
