"""Logged events that test a rule: SigmaHQ's regression_data, found beside the imported rule folders.

A SigmaHQ checkout holds `rules/`, `rules-emerging-threats/`, ... and `regression_data/`, whose
folders each have an `info.yml` naming the rule ids they test (`rule_metadata`) and event files:
the EVTX capture and its JSON rendering. A source's roots are the rule folders it was imported
from, so the repository is each root's parent. `refresh(source)` runs at the end of every import
of the source: it reads the info files, counts the events (the JSON renderings, else the EVTX
files) and stores one RuleTestEvent row per rule and file, with the first few events, so the
rule page can say "Tested by N logged events" and show them without the files.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import yaml
from django.core.serializers.json import DjangoJSONEncoder

from catalog.core.sigma.event_files import EventFileError, FileLimits, read_events
from catalog.core.sigma.logged_events import EventLimits
from catalog.models import Rule, Source
from catalog.models.matching_jobs import RuleTestEvent

log = logging.getLogger(__name__)
FOLDER = "regression_data"
KEEP_EVENTS = 20  # events stored per file (for the page); all are counted
LIMITS = FileLimits(max_bytes=16 * 1024 * 1024, max_events=10_000, per_event=EventLimits(max_events=10_000))


def repositories(source: Source) -> list[Path]:
    return sorted({Path(root).parent for root in source.roots if (Path(root).parent / FOLDER).is_dir()})


def refresh(source: Source) -> bool:
    """Re-read the source's regression data and replace its rows; True when they changed (the rule list's
    "has test events" counts, in catalog.publishing.summaries, must then be rewritten).

    Rows equal to the stored ones are not rewritten, so an import of an unchanged tree writes nothing here."""
    found = [
        (repository, info, ids)
        for repository in repositories(source)
        for info in sorted((repository / FOLDER).rglob("info.yml"))
        if (ids := _rule_ids(info))
    ]
    rule_pks = _rule_pks(source, {rule_id for _, _, ids in found for rule_id in ids})
    rows = []
    for repository, info, ids in found:
        pks = sorted({rule_pks[rule_id] for rule_id in ids if rule_id in rule_pks})
        files = sorted(info.parent.glob("*.json")) or sorted(info.parent.glob("*.evtx"))
        for file in files if pks else []:
            try:
                events = [event.flat for event in read_events(file, file.name, LIMITS)]
            except (EventFileError, OSError) as exc:
                log.warning("%s: %s", file, exc)
                continue
            path = file.relative_to(repository).as_posix()
            rows += [RuleTestEvent(rule_id=pk, source=source, path=path, event_count=len(events),
                                   events=events[:KEEP_EVENTS]) for pk in pks]  # fmt: skip
    stored = RuleTestEvent.objects.filter(source=source)
    before = {(rule_id, path, count, _json(events)) for rule_id, path, count, events in
              stored.values_list("rule_id", "path", "event_count", "events")}  # fmt: skip
    after = {(row.rule_id, row.path, row.event_count, _json(row.events)) for row in rows}
    if before == after:
        return False
    stored.delete()
    RuleTestEvent.objects.bulk_create(rows, batch_size=200)
    return {key[:3] for key in before} != {key[:3] for key in after}


def _rule_pks(source: Source, rule_ids: set[str]) -> dict[str, int]:
    """The source's rules by id, for the ids the info files name (one query per 500 ids, not one per file)."""
    wanted = sorted(rule_ids)
    pks = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        pks.update(
            (str(u), pk) for u, pk in Rule.objects.filter(source=source, uuid__in=chunk).values_list("uuid", "pk")
        )
    return pks


def _json(events) -> str:
    """Events as the JSON column stores them, comparable whether read back or just read from a file."""
    return json.dumps(events, sort_keys=True, cls=DjangoJSONEncoder)


def _rule_ids(info: Path) -> list[str]:
    try:
        meta = yaml.load(info.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}  # libyaml: 5x faster
        entries = meta.get("rule_metadata") or []
        ids = (_normal_id(entry.get("id")) for entry in entries if isinstance(entry, dict))
        return [rule_id for rule_id in ids if rule_id]
    except (OSError, yaml.YAMLError, UnicodeDecodeError, AttributeError) as exc:
        log.warning("%s: %s", info, exc)
        return []


def _normal_id(value) -> str | None:
    """A rule id as the catalog stores it (lower case, hyphens); None for what is no UUID."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def test_events_of(rule: Rule) -> list[RuleTestEvent]:
    return list(RuleTestEvent.objects.filter(rule=rule).order_by("path"))
