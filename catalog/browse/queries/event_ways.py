"""Which rules each event runs: the taxonomy's ways in (catalog.core.taxonomy.ways) over the need signatures.

A rule's ways in are every event it can run through, native (Sysmon 1 for process_creation) or mapped
(Security 4688, its fields renamed), each with the looked-for fields it lacks. An event *runs* a rule
when it lacks none: that is what the event pages count and list, and what /coverage/ calls runnable for
a profile of that one event (both read the same ways of the same need signatures, catalog.models.telemetry).

* `event_totals()`: (provider, event id) -> [runnable rules, rules it runs without some fields], stored
  by catalog.publishing.summaries at every change (the event pages read the stored counts);
* an event page lists the rules whose signature `runs` it (NeedSignature.runs, kept by catalog.coverage.summary);
* `rule_ways()`: a rule's event coverage on its page, from what its record already holds (no query).
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.core import taxonomy
from catalog.models import Polarity
from catalog.models.telemetry import NeedSignature

NEED_COLUMNS = ("product", "category", "service", "events", "fields")
LOOKED_FOR = (Polarity.LOOKS_FOR, Polarity.BOTH)


def event_totals() -> dict[tuple[str, int | None], list[int]]:
    """(provider display name, event id) -> [runnable, partial] live rules, over every need signature."""
    rows = NeedSignature.objects.filter(rule_count__gt=0).values_list(*NEED_COLUMNS, "rule_count")
    counts = taxonomy.event_counts(rows.iterator(chunk_size=2000))
    return {(taxonomy.provider_name(slug), event_id): n for (slug, event_id), n in counts.items()}


@dataclass
class EventWay:
    """One row of a rule's event coverage."""

    provider: str  # display name
    event_id: int | None
    title: str
    mapped: bool  # the event names the fields its own way (Security 4688 for process_creation)
    missing: tuple[str, ...]  # looked-for fields it does not carry
    renames: tuple[tuple[str, str], ...]  # (Sigma field, event field)

    @property
    def slug(self) -> str:
        return taxonomy.provider_slug(self.provider)

    def as_dict(self) -> dict:
        return {
            "provider": self.provider,
            "event_id": self.event_id,
            "title": self.title,
            "mapped": self.mapped,
            "runnable": not self.missing,
            "missing_fields": list(self.missing),
            "renames": [list(pair) for pair in self.renames],
        }


def rule_ways(rule) -> list[EventWay]:
    """Every event the rule can run through, from its stored events and its stages' predicates
    (prefetched with its record): native events first, in the taxonomy's order."""
    events = [(e.provider, e.event_id) for e in rule.events.all()]
    fields = {p.field for stage in rule.stages.all() for p in stage.predicates.all() if p.polarity in LOOKED_FOR}
    return ways_for(rule.product, rule.category, rule.service, events, fields)


def ways_for(product: str, category: str, service: str, events, fields) -> list[EventWay]:
    """The event coverage of a rule with this log source, these (provider, event id) events and these
    looked-for fields: the rule page's (rule_ways) and /preview/'s, so the two always agree."""
    tokens = sorted(f"{taxonomy.provider_slug(p)}:{'*' if event_id is None else event_id}" for p, event_id in events)
    ways = taxonomy.signature_ways(product, category, service, tokens, sorted(f for f in fields if f))
    if not any(way.source for way in ways):  # the rule's own events: by provider, the channel first
        ways = sorted(ways, key=lambda w: (w.provider_name, w.event_id is not None, w.event_id or 0))
    return [
        EventWay(
            taxonomy.provider_name(way.provider),
            way.event_id,
            way.title if way.event_id is not None else f"{taxonomy.provider_name(way.provider)} log (any event)",
            way.mapped,
            way.missing,
            way.renames,
        )
        for way in ways
    ]
