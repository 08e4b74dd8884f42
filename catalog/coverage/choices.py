"""The checkboxes of /coverage/: Windows events grouped by provider, and the other log sources.

Offered: every Sysmon event (1-29), every event that can back a Windows category (Security 4688,
5156, 4657, 4663, PowerShell 4103/4104...), the events the catalog maps its rules to (the event
table of /events/, as the need signatures hold them), the events of the profile itself (so a preset
or a hand-written URL survives the form), a whole-channel box per provider, the log sources of the
catalog's non-Windows rules, the presets (catalog.coverage.presets) and the curators' saved profiles.
"""

from __future__ import annotations

from collections import defaultdict

from django.urls import reverse

from catalog.core.reference.event_tables import SYSMON_EVENTS
from catalog.core.taxonomy import category_sources, event_title, provider_name
from catalog.coverage.presets import preset_links
from catalog.coverage.profile import ProfileError, event_token, logsource_token, parse
from catalog.models.telemetry import TelemetryProfile

FIRST = ("sysmon", "security", "powershell", "powershell-classic", "system")


def _event_ids(profile, signatures) -> dict[str, set[int | None]]:
    ids = defaultdict(set)
    for provider, event_id in profile.events if profile else ():
        ids[provider].add(event_id)
    ids["sysmon"].update(event_id for event_id in SYSMON_EVENTS if event_id <= 29)
    for sources in category_sources().values():
        for source in sources:
            ids[source.provider].add(source.event_id)
    for signature in signatures:  # the events the catalog maps its rules to (the /events/ table)
        for way in signature.ways:
            if way.provider is not None:
                ids[way.provider].add(way.event_id)
    return ids


def form_choices(profile, signatures) -> dict:
    """Providers (each with its events, checked when collected), log sources, and saved profiles.

    `signatures`: the catalog's need signatures (catalog.coverage.runnable), read once per request.
    """
    providers = []
    ids = _event_ids(profile, signatures)
    order = sorted(ids, key=lambda p: (FIRST.index(p) if p in FIRST else len(FIRST), p))
    for slug in order:
        events = [
            {
                "token": event_token(slug, event_id),
                "event_id": event_id,
                "title": event_title(slug, event_id),
                "checked": bool(profile) and (slug, event_id) in profile.events,
            }
            for event_id in sorted(i for i in ids[slug] if i is not None)
        ]
        whole = {
            "token": event_token(slug, None),
            "checked": bool(profile) and (slug, None) in profile.events,
        }
        checked = sum(event["checked"] for event in events) + whole["checked"]
        providers.append(
            {"slug": slug, "name": provider_name(slug), "events": events, "whole": whole, "checked": checked}
        )
    logsources = _logsources(profile, signatures)
    return {
        "providers": providers,
        "logsource_choices": logsources,
        "logsources_checked": sum(source["checked"] for source in logsources),
        "presets": preset_links(profile),
        "saved_profiles": saved_profiles(),
    }


def _logsources(profile, signatures) -> list[dict]:
    """Non-Windows log sources with their live rule counts (Windows is chosen by event above)."""
    counts = defaultdict(int)
    for signature in signatures:
        if signature.product != "windows":
            counts[signature.product, signature.category, signature.service] += signature.rule_count
    collected = set(profile.logsources) if profile else set()
    return [
        {
            "token": logsource_token(*key),
            "product": key[0] or "(any product)",
            "rules": n,
            "checked": key in collected,
        }
        for key, n in sorted(counts.items())
    ]


def saved_profiles() -> list[dict]:
    """The curators' named profiles, each with its coverage URL (a broken one is listed without a link)."""
    rows = []
    for saved in TelemetryProfile.objects.all():
        try:
            url = reverse("coverage:page") + "?" + parse(saved.events, saved.logsources, saved.unfilled).query()
        except ProfileError:
            url = ""
        rows.append({"name": saved.name, "description": saved.description, "url": url})
    return rows
