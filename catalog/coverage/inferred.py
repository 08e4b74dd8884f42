"""A telemetry profile read from a sample of logs: the events it holds, and the fields they never fill.

The sample (catalog.coverage.sample) gives, per Windows event (service, event id), the fields its records
fill. The profile collects each of those events and each log source of its other events, and marks
*unfilled* every field the catalog expects of an event that no record of it fills:

* the taxonomy's fields for the event (catalog.core.taxonomy): the fields of each category it backs
  natively (SigmaHQ's logsource.json: Sysmon 1 is process_creation, so ParentUser, which Sysmon before
  13.30 does not log), the Security schema of a mapped event and the event fields the pipelines' renames
  read (4688's NewProcessName for Image);
* every field a rule looks for through that event (its ways in, catalog.coverage.runnable), read
  under the event's own name.

Fields common to all Windows events (EventID, Channel, Computer...) are never marked. A rule then runs
through the event "with missing fields", naming them, exactly as through an event that cannot carry them
(catalog.coverage.runnable.classify). A hand-written list of the fields each event fills gives the same
profile through `profile_from_fields` (tests/coverage/test_inferred_profile.py compares the two).
"""

from __future__ import annotations

from catalog.core.taxonomy import category_fields, common_fields, mapped_sources, native_categories
from catalog.core.taxonomy.pipelines import category_field_names
from catalog.core.taxonomy.security import SECURITY_SCHEMAS
from catalog.coverage.profile import Profile, event_token, logsource_token
from catalog.coverage.runnable import ways_in
from catalog.coverage.sample import Sample
from catalog.models.telemetry import NeedSignature


def taxonomy_fields(provider: str, event_id: int) -> dict[str, str]:
    """The fields the taxonomy gives an event, casefolded -> as written, in the event's own names."""
    found: dict[str, str] = {}
    for category in native_categories().get((provider, event_id), ()):
        if category_fields(category) is not None:
            found.update({name.casefold(): name for name in category_field_names(category)})
    for source in mapped_sources().get((provider, event_id), ()):
        renamed = {sigma.casefold(): native for sigma, native in source.renames}
        spelled = {name.casefold(): name for name in category_field_names(source.category)}
        for folded in source.fields or ():
            name = renamed.get(folded, spelled.get(folded, folded))
            found.setdefault(name.casefold(), name)
    if provider == "security":
        found.update({name.casefold(): name for name in SECURITY_SCHEMAS.get(event_id, ())})
    return found


def rule_fields(keys) -> dict[tuple[str, int], dict[str, str]]:
    """Per event of `keys`, the fields the catalog's rules read through it (own name casefolded -> as written)."""
    keys = set(keys)
    found: dict[tuple[str, int], dict[str, str]] = {key: {} for key in keys}
    rows = NeedSignature.objects.filter(rule_count__gt=0).values_list(
        "key", "product", "category", "service", "events", "fields"
    )
    for key, product, category, service, events, fields in rows.iterator(chunk_size=500):
        for way in ways_in(key, product.casefold(), category.casefold(), service.casefold(), events, fields):
            if (way.provider, way.event_id) in keys:
                for name, own in way.reads:
                    found[way.provider, way.event_id].setdefault(own, name if name.casefold() == own else own)
    return found


def expected_fields(keys) -> dict[tuple[str, int], dict[str, str]]:
    """Per event, every field the catalog expects of it (taxonomy, then rules), without the common ones."""
    common = common_fields()
    by_rules = rule_fields(keys)
    expected = {}
    for key in by_rules:
        names = {**by_rules[key], **taxonomy_fields(*key)}
        expected[key] = {folded: name for folded, name in sorted(names.items()) if folded not in common}
    return expected


def profile_from_fields(filled: dict[tuple[str, int], set[str]], logsources=()) -> Profile:
    """The profile collecting these events, each filling these fields (any case), and these log sources."""
    expected = expected_fields(filled)
    unfilled = frozenset(
        (provider, event_id, folded)
        for (provider, event_id), names in filled.items()
        for folded in expected[provider, event_id].keys() - {name.casefold() for name in names}
    )
    patterns = tuple(sorted(set(logsources), key=lambda pattern: logsource_token(*pattern)))
    return Profile(frozenset(filled), patterns, unfilled)


def inferred_profile(sample: Sample) -> Profile:
    return profile_from_fields({key: seen.filled_fields for key, seen in sample.events.items()}, sample.logsources)


def _fields(seen, names: dict[str, str], expected=None) -> list[dict]:
    """Each field with its presence rates (present; present and not empty), most filled first."""
    rows = []
    for folded in sorted(names, key=lambda f: (-seen.filled[f], names[f].casefold())):
        row = {"field": names[folded], "present": round(seen.present[folded] / seen.records, 4)}
        row["filled"] = round(seen.rate(folded), 4)
        if expected is not None:
            row["expected"] = folded in expected
        rows.append(row)
    return rows


def report(sample: Sample, profile: Profile | None = None) -> dict:
    """What the sample holds, JSON-ready: each event with its records, the expected fields it never fills
    and every field's presence rates; each log source; the events it could not place."""
    profile = profile or inferred_profile(sample)
    expected = expected_fields(sample.events)
    events = []
    for (provider, event_id), seen in sorted(sample.events.items()):
        names = {**expected[provider, event_id], **seen.names}
        never = sorted(folded for p, e, folded in profile.unfilled if (p, e) == (provider, event_id))
        events.append(
            {
                "event": event_token(provider, event_id),
                "records": seen.records,
                "never_filled": [names[folded] for folded in never],
                "fields": _fields(seen, names, expected[provider, event_id]),
            }
        )
    logsources = [
        {"logsource": logsource_token(*key), "records": seen.records, "fields": _fields(seen, seen.names)}
        for key, seen in sorted(sample.logsources.items(), key=lambda item: logsource_token(*item[0]))
    ]
    return {
        "records": sample.records,
        "truncated": sample.truncated,
        "files": [{"name": name, "events_read": n} for name, n in sample.files],
        "events": events,
        "logsources": logsources,
        "not_placed": [{"reason": reason, "records": n} for reason, n in sorted(sample.unknown.items())],
        "profile": profile.params(),
    }
