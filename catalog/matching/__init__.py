"""Which rules of the catalog does a logged event trigger? Rules rebuilt from stored data.

A rule only applies to events of its log source, so candidates are chosen first: a Windows event
(it names its channel) is checked against Windows rules whose event coverage fits its channel and
event id (a process_creation rule covers Sysmon event 1, not event 7); other events against the
non-Windows rules. Compiling the ~3,800 rules takes a moment, so the compiled set is kept per
process and rebuilt when the catalog version changes (an import or a curation change).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from catalog.models import CatalogVersion, Predicate, Rule
from catalog.sigma.evaluate import CompiledRule, compile_rule, matches

_compiled: dict[int, list[Candidate]] = {}


@dataclass
class Candidate:
    rule: Rule
    compiled: CompiledRule
    coverage: dict[str, set] = field(default_factory=dict)  # provider (lowercase) -> event ids (None: any)

    def applies_to(self, event: dict) -> bool:
        # Compared without spaces: the provider "Task Scheduler" logs to "Microsoft-Windows-TaskScheduler/...".
        channel = "|".join(str(event.get(k) or "") for k in ("Channel", "Provider_Name")).lower().replace(" ", "")
        if channel == "|":  # not a Windows event
            return self.rule.product != "windows"
        if self.rule.product != "windows":
            return False
        if not self.coverage:
            return True
        event_id = _int(event.get("EventID"))
        return any(provider in channel and (None in ids or event_id in ids) for provider, ids in self.coverage.items())


def compiled_rule(rule: Rule) -> CompiledRule:
    predicates = Predicate.objects.filter(rule=rule).select_related("stage").order_by("stage__index", "position")
    return compile_rule(
        rule.condition_tree, [(p.stage.name, p.group, p.field, p.modifiers, p.values) for p in predicates]
    )


def _candidates() -> list[Candidate]:
    version = CatalogVersion.current()
    if version not in _compiled:
        rules = {
            r.pk: r
            for r in Rule.objects.filter(
                hidden=False, retired=False, rule_type="rule", condition_tree__isnull=False
            ).only("pk", "uuid", "title", "level", "level_override", "product", "category", "service", "condition_tree")
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
        compiled = []
        for pk, rule in rules.items():
            try:
                compiled.append(Candidate(rule, compile_rule(rule.condition_tree, predicates[pk]), dict(coverage[pk])))
            except Exception:  # a rule pySigma can no longer rebuild is left out, not fatal
                continue
        _compiled.clear()
        _compiled[version] = compiled
    return _compiled[version]


def matching_rules(event: dict) -> list[Rule]:
    """The live, visible detection rules the (flattened) event triggers, by title."""
    hits = [c.rule for c in _candidates() if c.applies_to(event) and matches(c.compiled, event)]
    return sorted(hits, key=lambda rule: rule.title)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
