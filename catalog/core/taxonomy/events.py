"""A rule's own log events: the events its logsource names, stored with the rule at import (Rule.events).

Given a rule's ``logsource`` (product, category, service) and any explicit
``EventID`` values in its detection, :func:`events_for` returns rows of
(provider, event id, title) such as ``Sysmon | 1 | Process creation``: the events
that carry the rule's log source as such (its *native* events). The Security
events a category can also be mapped to (Security 4688 for process_creation) are
not stored: catalog.core.taxonomy.ways adds them, with the fields each lacks.

Where the facts come from:

* pySigma's pipelines (catalog.core.taxonomy.sources): which Windows log
  categories are backed by which Sysmon event ids (process_creation -> 1,
  registry_event -> 12/13/14, ...) and the PowerShell categories (ps_script ->
  4104, ps_module -> 4103, ps_classic_* -> 400/600/800).
* The hand-written tables of catalog/core/reference/event_tables.py: the Windows
  ``service`` names with the event channel each one stands for, the Linux log
  sources, and the titles below.
* Sysinternals Sysmon documentation: the Sysmon event ids and their titles
  (the task names Sysmon writes into its events).
* Microsoft documentation (security auditing reference, Microsoft Defender
  Antivirus event ids, Windows event log references): titles for well-known
  ids in the Security, System, Defender and other channels.

Only ids whose meaning is clear are given a title.  An id we do not know still
gets a row, with an empty title: the UI then shows just the number, and no
title is made up.  The Application and System logs are shared by many event
sources, so only ids with one dominant meaning in that log have a title there
(the source is named in brackets).

Pure Python, no Django import: the importer and the tests call it directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from catalog.core.reference.event_tables import EVENT_TITLES, LINUX_CATEGORIES, LINUX_SERVICES

from .channels import windows_services
from .names import channel_title, provider_name, title_for
from .sources import category_sources


@dataclass(frozen=True, order=True)
class EventRef:
    """One covered log event; ``event_id`` None means the whole channel."""

    provider: str  # e.g. "Sysmon", "Security", "System", "PowerShell", "Windows Defender"
    event_id: int | None  # None = the whole channel/log (no specific event id known)
    title: str  # e.g. "Process creation"; "" when the id is not in our tables


def channel_row(provider: str) -> EventRef:
    """The row for "any event of this log"."""
    return EventRef(provider, None, channel_title(provider))


@cache
def windows_categories() -> dict[str, tuple[str, tuple[int, ...]]]:
    """Windows category -> (provider, event ids) of its native events (one provider each)."""
    table = {}
    for category, sources in category_sources().items():
        native = [source for source in sources if not source.mapped]
        if native:
            provider = native[0].provider
            ids = tuple(s.event_id for s in native if s.provider == provider and s.event_id is not None)
            table[category] = (provider_name(provider), ids)
    return table


@cache
def _products() -> dict[str, tuple[dict, dict]]:
    """product -> (category table, service table). Other products: no coverage."""
    return {"windows": (windows_categories(), windows_services()), "linux": (LINUX_CATEGORIES, LINUX_SERVICES)}


def _normalize(value: str | None) -> str:
    return (value or "").strip().lower()


def _clean_ids(event_ids: Iterable[int | str] | None) -> list[int]:
    """Non-negative integer ids; numeric strings are accepted, anything else dropped."""
    ids: set[int] = set()
    for raw in event_ids or ():
        if isinstance(raw, bool):
            continue
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
            value = int(raw.strip())
        else:
            continue
        if value >= 0:
            ids.add(value)
    return sorted(ids)


def _category_rows(provider: str, default_ids: tuple[int, ...], ids: list[int]) -> list[EventRef]:
    """Explicit ids known for the provider win; otherwise the category's own events."""
    known = EVENT_TITLES.get(provider, {})
    chosen = [event_id for event_id in ids if event_id in known] or list(default_ids)
    return [EventRef(provider, event_id, title_for(provider, event_id)) for event_id in chosen]


def _service_rows(provider: str, ids: list[int]) -> list[EventRef]:
    """One row per explicit id (empty title if unknown), else the whole channel."""
    if not ids:
        return [channel_row(provider)]
    return [EventRef(provider, event_id, title_for(provider, event_id)) for event_id in ids]


def _sort_key(ref: EventRef) -> tuple[str, bool, int, str]:
    # None (whole channel) sorts before numbered events of the same provider.
    return (ref.provider, ref.event_id is not None, ref.event_id or 0, ref.title)


def events_for(product: str, category: str, service: str, event_ids: list[int]) -> list[EventRef]:
    """Deduplicated, sorted rows. product/category/service are lowercase strings ('' when absent).

    A known category decides the provider; otherwise a known service does.
    Unknown products, categories and services give no rows.
    """
    tables = _products().get(_normalize(product))
    if tables is None:
        return []
    categories, services = tables
    ids = _clean_ids(event_ids)

    rows: list[EventRef] = []
    category_entry = categories.get(_normalize(category))
    service_provider = services.get(_normalize(service))
    if category_entry is not None:
        rows = _category_rows(category_entry[0], category_entry[1], ids)
    elif service_provider is not None:
        rows = _service_rows(service_provider, ids)
    return sorted(set(rows), key=_sort_key)
