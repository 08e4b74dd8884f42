"""/preview/'s rule sections: a pasted rule shown as its rule page will show it once imported.

The builders and templates are the stored rule page's (catalog.browse.queries.rule_sections and
rule_page, templates/browse/_rule_*.html): stages with their excluded blocks, the "Looks for" and
"Excludes" tables, similar rules with the same rarity weighting, related rules, ATT&CK and events.
What differs is where the rows come from, the parser's dataclasses instead of stored rows, and the
counts: each is the catalog's as it will be with the pasted rule imported. A value no catalog rule
carries counts 1 ("unique to this rule"); a rule pasted under the id of a stored one replaces it, so
the stored one's own values are taken out of the counts first.

Queries: the indicators the catalog knows (1), what the stored rule of the same id carries (1), the
related rules of every pasted rule (1), and similar rules (2 each, for the first SIMILAR_FOR rules of
a paste: one file may hold many documents, and anyone may post).
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass

from django.db.models import Q

from catalog.browse.queries import rule_sections as sections
from catalog.browse.queries.event_ways import LOOKED_FOR, ways_for
from catalog.browse.queries.rule_page import RuleLink, related_links, resolve_links
from catalog.core import quality
from catalog.core.reference import attack
from catalog.core.sigma import decidable
from catalog.core.sigma.model import ParsedRule
from catalog.core.taxonomy.events import events_for
from catalog.importing.preparing import indicator_sha
from catalog.models import Indicator, RuleIndicator, live_rules_q

SIMILAR_FOR = 5  # pasted rules (in file order) whose similar rules are looked up
NO_RULE = uuid_lib.UUID(int=0)


@dataclass
class PastedIndicator:
    """Stands in for a stored Indicator in the shared tables: pk None when no catalog rule carries it yet."""

    pk: int | None
    field: str
    kind: str
    transforms: str
    cased: bool
    corpus_count: int  # live public rules looking for it, the pasted rule included
    exclude_count: int  # ... excluding it


@dataclass
class PastedRuleIndicator:
    """Stands in for a stored RuleIndicator: the value as the pasted rule writes it, and its polarity."""

    indicator: PastedIndicator
    written: str
    polarity: str


@dataclass
class PreviewRule:
    rule: ParsedRule
    idp: str  # the prefix of its ids on the page (several rules may be pasted at once)
    attack_rows: list
    events: list
    stages: list[sections.StageView]
    matching_skipped: str
    looked: sections.IndicatorTable
    excluded: sections.IndicatorTable
    related: list[RuleLink]
    similar: list[dict] | None  # None: not looked up (past the first SIMILAR_FOR rules of the paste)
    warnings: list[tuple[int, str]]  # (line in the pasted text, message)
    findings: list[dict]  # the quality findings it would be stored with (catalog.core.quality)
    quality: str


def preview_rules(parsed: list[ParsedRule]) -> list[PreviewRule]:
    """The rule-page sections of each pasted rule, with the catalog's counts."""
    shas = {indicator_sha(key) for rule in parsed for key, _ in rule.indicator_polarities()}
    known = {row.key: row for row in Indicator.objects.filter(key__in=list(shas))} if shas else {}
    own_ids = {rule.uuid: _as_uuid(rule.uuid) for rule in parsed}
    stored = _stored_polarities([i for i in own_ids.values() if i], [row.pk for row in known.values()])
    links = {rule.uuid: related_links(rule.related) for rule in parsed}
    if parsed:
        resolve_links(NO_RULE, [link for found in links.values() for link in found])
    result = []
    for number, rule in enumerate(parsed, start=1):
        own = own_ids[rule.uuid]
        mine = stored.get(own, {})
        carried = [_carried(key, pol, known.get(indicator_sha(key)), mine) for key, pol in rule.indicator_polarities()]
        looked, excluded = sections.polarity_tables(carried)
        similar = None
        if number <= SIMILAR_FOR:
            looked_ids = [ri.indicator.pk for ri in carried if ri.indicator.pk and ri.polarity in sections.LOOKED_FOR]
            # A pasted rule is not in the stored counts yet (unless it replaces the stored rule of its id).
            counted = 0 if own in stored else 1
            similar = sections.similar_rules(looked_ids, Q(rule__uuid=own or NO_RULE), counted=counted)
        tags = attack.parse_tags(rule.tags)
        findings = quality.rule_findings(rule.sigma_rule, rule.warnings, rule.doc_line, pasted=True)
        result.append(
            PreviewRule(
                rule=rule,
                idp=f"rule-{number}-",
                attack_rows=attack.by_tactic(attack.rule_attack_table(tags.tactics, tags.techniques)),
                events=_event_ways(rule),
                stages=[
                    sections.stage_view(s.index, s.name, s.text, s.block_combine, s.predicates) for s in rule.stages
                ],
                matching_skipped=_skip_reason(rule),
                looked=looked,
                excluded=excluded,
                related=links[rule.uuid],
                similar=similar,
                warnings=[(rule.doc_line + line - 1, message) for line, message in sorted(rule.warnings)],
                findings=findings,
                quality=quality.worst(findings),
            )
        )
    return result


def _event_ways(rule: ParsedRule) -> list:
    """The rule page's event coverage (catalog.browse.queries.event_ways), from the parsed rule."""
    refs = events_for(rule.product, rule.category, rule.service, rule.event_ids)
    fields = {p.field for stage in rule.stages for p in stage.predicates if p.polarity in LOOKED_FOR}
    return ways_for(rule.product, rule.category, rule.service, [(e.provider, e.event_id) for e in refs], fields)


def _stored_polarities(own_ids: list, indicator_pks: list[int]) -> dict:
    """{rule uuid: {indicator pk: polarity}}: which pasted values a live public stored rule of a pasted
    rule's id carries. They are in the counts already, and go when the pasted rule replaces it."""
    if not own_ids or not indicator_pks:
        return {}
    found: dict = {}
    rows = RuleIndicator.objects.filter(live_rules_q("rule"), rule__uuid__in=own_ids, indicator_id__in=indicator_pks)
    for rule_uuid, indicator_id, polarity in rows.values_list("rule__uuid", "indicator_id", "polarity"):
        found.setdefault(rule_uuid, {})[indicator_id] = polarity
    return found


def _carried(key, polarity: str, stored: Indicator | None, own_stored: dict) -> PastedRuleIndicator:
    corpus = stored.corpus_count if stored else 0
    excluded = stored.exclude_count if stored else 0
    before = own_stored.get(stored.pk) if stored else None  # the stored rule of the same id: counted already
    corpus += (polarity in sections.LOOKED_FOR) - (before in sections.LOOKED_FOR)
    excluded += (polarity in sections.EXCLUDED) - (before in sections.EXCLUDED)
    indicator = PastedIndicator(
        stored.pk if stored else None, key.field, key.kind, key.transforms, key.cased, corpus, excluded
    )
    return PastedRuleIndicator(indicator, key.display or key.value, polarity)


def _skip_reason(rule: ParsedRule) -> str:
    """Why event matching would skip the rule, as the rule page says it of a stored one (decidable.skip_reason)."""
    predicates = [(s.name, p.group, p.field, p.modifiers, p.values) for s in rule.stages for p in s.predicates]
    timeframe = (rule.other_fields or {}).get("timeframe")
    return decidable.skip_reason(rule.rule_type, rule.conditions, rule.condition_tree, predicates, timeframe)


def _as_uuid(text: str):
    try:
        return uuid_lib.UUID(str(text))
    except ValueError:
        return None
