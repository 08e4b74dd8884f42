"""Event and log-source coverage: event types and log sources with their live rule counts.

/events/ and /api/events/ (and their detail pages) read `events_with_counts()` and `event_rules()`: an event
runs the rules whose ways in (catalog.core.taxonomy.ways) reach it carrying every field they look for,
native (Sysmon 1) or mapped (Security 4688 for process_creation), the rules /coverage/ runs for a profile
of that one event. Event URLs are canonical ("Security", "any"); `canonical()` spells any other case.
/logsources/ and /api/logsources/ read `logsource_counts()`.
"""

from __future__ import annotations

from django.db.models import CharField, F, OuterRef
from django.db.models.functions import Cast

from catalog.browse.queries.attack import summarized
from catalog.core import taxonomy
from catalog.models import EventType, LogsourceSummary, Rule


def events_with_counts():
    """Every event type with `rule_count` (live rules it runs: catalog.browse.queries.event_ways) and
    `partial_count` (live rules it runs without some of their fields), by provider, channel-wide row first."""
    key = Cast(OuterRef("pk"), CharField())
    return EventType.objects.annotate(
        rule_count=summarized("event", key), partial_count=summarized("event_partial", key)
    ).order_by("provider", F("event_id").asc(nulls_first=True))


def event_table() -> list[EventType]:
    """The whole event table of /events/ (1 query)."""
    return list(events_with_counts())


def canonical(provider: str, event: str) -> tuple[str, str] | None:
    """The canonical spelling of an event URL's parts ("security", "ANY" -> "Security", "any"), or None
    when they are not an event's (no query: the taxonomy's provider names)."""
    name = taxonomy.canonical_provider(provider) or provider
    if event.casefold() in ("any", "*"):
        return name, "any"
    if not (event.isascii() and event.isdigit()) or len(event) > 9:  # "¹".isdigit(), but int("¹") fails
        return None
    return name, str(int(event))


def event_type(provider: str, event: str) -> EventType | None:
    """The event type of a canonical URL, with its counts: event is a number or 'any' for a channel-wide
    row (1 query)."""
    if event == "any":
        return events_with_counts().filter(provider=provider, event_id__isnull=True).first()
    if not (event.isascii() and event.isdigit()) or len(event) > 9:
        return None
    return events_with_counts().filter(provider=provider, event_id=int(event)).first()


def event_param(event_id: int | None) -> str:
    """The URL segment of an event id: 'any' for a channel-wide row."""
    return "any" if event_id is None else str(event_id)


def event_rules(event: EventType):
    """The live rules the event runs (every looked-for field carried), by title: those whose need signature
    runs it (NeedSignature.runs: the taxonomy's ways in, catalog.browse.queries.event_ways)."""
    token = taxonomy.runs_token(taxonomy.provider_slug(event.provider), event.event_id)
    return Rule.objects.live().filter(need__signature__runs__contains=token).order_by("sort_title", "pk")


def event_facts(event: EventType) -> dict:
    """What an event page says of the event beyond its rules: its slug (the /coverage/ token), the
    categories it backs natively and through a mapping (with the renames). No query."""
    slug = taxonomy.provider_slug(event.provider)
    return {
        "token": f"{slug}:{event_param(event.event_id).replace('any', '*')}",
        "categories": list(taxonomy.native_categories().get((slug, event.event_id), ())),
        "mapped": [
            {"category": s.category, "renames": [list(pair) for pair in s.renames]}
            for s in taxonomy.mapped_sources().get((slug, event.event_id), ())
        ],
    }


def logsource_counts():
    """Product / category / service combinations of live rules with their rule count `rules` (1 query, from
    the summary table)."""
    return LogsourceSummary.objects.values("product", "category", "service", "rules").order_by(
        "product", "category", "service"
    )
