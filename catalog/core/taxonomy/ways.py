"""A rule's ways in: every event it can run through, and the looked-for fields each one lacks.

A rule (or a need signature: rules with the same log source, stored events and looked-for fields)
runs through:

* for a Windows category the taxonomy knows (catalog.core.taxonomy.sources): each event that can
  back the category, native (Sysmon 1) or mapped (Security 4688, with the pipelines' renames);
* otherwise, the events stored with the rule (catalog.core.taxonomy.events: its service's channel or
  the explicit EventIDs), on which every field counts as carried.

A way is *runnable* when the event carries every looked-for field (Windows events' common fields,
EventID, Channel..., always count); otherwise the rule runs through it without those fields. /coverage/
(catalog.coverage.runnable), the event pages (catalog.browse.queries.event_ways) and the rule page read
`ways()`, so the rules an event page lists are the ones /coverage/ runs for a profile of that event.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .names import event_title, provider_name
from .pipelines import common_fields
from .sources import Source, category_sources


@dataclass(frozen=True)
class Way:
    provider: str  # the provider's slug: sysmon, security, ...
    event_id: int | None  # None: the whole channel
    missing: tuple[str, ...] = ()  # looked-for fields (as the rule writes them) the event does not carry
    source: Source | None = None  # the taxonomy's source, for a category rule

    @property
    def token(self) -> str:
        return f"{self.provider}:{'*' if self.event_id is None else self.event_id}"

    @property
    def mapped(self) -> bool:
        return self.source is not None and self.source.mapped

    @property
    def runnable(self) -> bool:
        return not self.missing

    @property
    def provider_name(self) -> str:
        return provider_name(self.provider)

    @property
    def title(self) -> str:
        return "" if self.event_id is None else event_title(self.provider, self.event_id)

    @property
    def renames(self) -> tuple[tuple[str, str], ...]:
        return self.source.renames if self.source is not None else ()


def parse_token(token: str) -> tuple[str, int | None]:
    """("security", 4688) of "security:4688", ("system", None) of "system:*"."""
    provider, _, event = token.rpartition(":")
    return provider, None if event == "*" else int(event)


@lru_cache(maxsize=50_000)
def ways(product: str, category: str, service: str, events: tuple[str, ...], fields: tuple[str, ...]):
    """The ways in of a rule: (product, category, service) casefolded, `events` its stored event
    tokens ("security:4624", "system:*"), `fields` its looked-for fields. A tuple of Way."""
    sources = category_sources().get(category) if product == "windows" else None
    if sources:
        common = common_fields()
        needed = [name for name in fields if name.casefold() not in common]
        return tuple(
            Way(
                source.provider,
                source.event_id,
                tuple(name for name in needed if source.fields is not None and name.casefold() not in source.fields),
                source,
            )
            for source in sources
        )
    return tuple(Way(*parse_token(token)) for token in events)


def signature_ways(product, category, service, events, fields):
    """ways() of a stored need (any case, lists): what catalog.models.telemetry.NeedSignature holds."""
    return ways(product.casefold(), category.casefold(), service.casefold(), tuple(events), tuple(fields))


def runs_text(ways) -> str:
    """The runnable ways' tokens as a need signature stores them (NeedSignature.runs): " sysmon:1 security:4688 "."""
    tokens = [way.token for way in ways if way.runnable]
    return f" {' '.join(tokens)} " if tokens else ""


def runs_token(provider: str, event_id: int | None) -> str:
    """What an event is looked for as in NeedSignature.runs: " security:4688 "; for a whole channel
    (event_id None) " security:", any of its events (see `event_counts`)."""
    return f" {provider}:" if event_id is None else f" {provider}:{event_id} "


def event_counts(signatures) -> dict[tuple[str, int | None], list[int]]:
    """(provider slug, event id) -> [rules it runs, rules it runs only without some of their fields], over
    (product, category, service, events, fields, rule_count) rows: what /coverage/ counts runnable and
    partial for a profile of that one event (catalog.coverage.runnable.classify). A profile of a whole
    channel ("security:*") collects every event of it, so its row, (provider, None), counts the rules with
    any way in through that channel: runnable when one of them carries every field."""
    counts: dict[tuple[str, int | None], list[int]] = {}
    for product, category, service, events, fields, rule_count in signatures:
        channels: dict[str, bool] = {}  # provider -> whether some way in through it is runnable
        for way in signature_ways(product, category, service, events, fields):
            if way.event_id is not None:
                entry = counts.setdefault((way.provider, way.event_id), [0, 0])
                entry[0 if way.runnable else 1] += rule_count
            channels[way.provider] = channels.get(way.provider, False) or way.runnable
        for provider, runnable in channels.items():
            counts.setdefault((provider, None), [0, 0])[0 if runnable else 1] += rule_count
    return counts
