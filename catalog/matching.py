"""Which rules of the catalog does a logged event trigger? Rules rebuilt from stored data.

Compiling the catalog's ~3,800 rules takes a moment, so the compiled set is kept per process and
rebuilt when the catalog version changes (an import or a curation change).
"""
from __future__ import annotations

from collections import defaultdict

from .models import CatalogVersion, Predicate, Rule
from .sigma.evaluate import CompiledRule, compile_rule, matches

_compiled: dict[int, list[tuple[Rule, CompiledRule]]] = {}


def compiled_rule(rule: Rule) -> CompiledRule:
    predicates = Predicate.objects.filter(rule=rule).select_related("stage").order_by("stage__index", "position")
    return compile_rule(rule.condition_tree, [(p.stage.name, p.group, p.field, p.modifiers, p.values) for p in predicates])


def _catalog_rules() -> list[tuple[Rule, CompiledRule]]:
    version = CatalogVersion.current()
    if version not in _compiled:
        rules = {
            r.pk: r
            for r in Rule.objects.filter(hidden=False, retired=False, rule_type="rule", condition_tree__isnull=False)
            .only("pk", "uuid", "title", "level", "level_override", "product", "category", "service", "condition_tree")
        }
        predicates = defaultdict(list)
        for rule_id, block, group, field, modifiers, values in (
            Predicate.objects.filter(rule_id__in=list(rules)).order_by("rule_id", "stage__index", "position")
            .values_list("rule_id", "stage__name", "group", "field", "modifiers", "values")
        ):
            predicates[rule_id].append((block, group, field, modifiers, values))
        compiled = []
        for pk, rule in rules.items():
            try:
                compiled.append((rule, compile_rule(rule.condition_tree, predicates[pk])))
            except Exception:  # a rule pySigma can no longer rebuild is left out, not fatal
                continue
        _compiled.clear()
        _compiled[version] = compiled
    return _compiled[version]


def matching_rules(event: dict) -> list[Rule]:
    """The live, visible detection rules the (flattened) event triggers, by title."""
    return sorted((rule for rule, compiled in _catalog_rules() if matches(compiled, event)), key=lambda r: r.title)
