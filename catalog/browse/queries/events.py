"""Event and log-source coverage: event types and log sources with their live rule counts.

/events/ and /api/events/ (and their detail pages) read `events_with_counts()` and `event_rules()`;
/logsources/ and /api/logsources/ read `logsource_counts()`.
"""

from __future__ import annotations

from django.db.models import CharField, F, OuterRef
from django.db.models.functions import Cast

from catalog.browse.queries.attack import summarized
from catalog.models import EventType, LogsourceSummary, Rule


def events_with_counts():
    """Every event type with `rule_count` (live rules covering it), by provider, channel-wide row first."""
    key = Cast(OuterRef("pk"), CharField())
    return EventType.objects.annotate(rule_count=summarized("event", key)).order_by(
        "provider", F("event_id").asc(nulls_first=True)
    )


def event_table() -> list[EventType]:
    """The whole event table of /events/ (1 query)."""
    return list(events_with_counts())


def event_type(provider: str, event: str) -> EventType | None:
    """The event type of a URL, with `rule_count`: event is a number or 'any' for a channel-wide row (1 query)."""
    if event == "any":
        return events_with_counts().filter(provider=provider, event_id__isnull=True).first()
    if not (event.isascii() and event.isdigit()) or len(event) > 9:  # "¹".isdigit(), but int("¹") fails
        return None
    return events_with_counts().filter(provider=provider, event_id=int(event)).first()


def event_param(event_id: int | None) -> str:
    """The URL segment of an event id: 'any' for a channel-wide row."""
    return "any" if event_id is None else str(event_id)


def event_rules(event: EventType):
    """The live rules covering an event type, by title."""
    return Rule.objects.live().filter(events=event).order_by("sort_title", "pk")


def logsource_counts():
    """Product / category / service combinations of live rules with their rule count `rules` (1 query, from
    the summary table)."""
    return LogsourceSummary.objects.values("product", "category", "service", "rules").order_by(
        "product", "category", "service"
    )
