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

import logging
from pathlib import Path

import yaml

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
    "has test events" counts, in catalog.publishing.summaries, must then be rewritten)."""
    rows = []
    for repository in repositories(source):
        for info in sorted((repository / FOLDER).rglob("info.yml")):
            ids = _rule_ids(info)
            if not ids:
                continue
            rules = list(Rule.objects.filter(source=source, uuid__in=ids).only("pk"))
            files = sorted(info.parent.glob("*.json")) or sorted(info.parent.glob("*.evtx"))
            for file in files:
                try:
                    events = [event.flat for event in read_events(file, file.name, LIMITS)]
                except (EventFileError, OSError) as exc:
                    log.warning("%s: %s", file, exc)
                    continue
                path = file.relative_to(repository).as_posix()
                rows += [RuleTestEvent(rule=r, source=source, path=path, event_count=len(events),
                                       events=events[:KEEP_EVENTS]) for r in rules]  # fmt: skip
    stored = RuleTestEvent.objects.filter(source=source)
    before = set(stored.values_list("rule_id", "path", "event_count"))
    stored.delete()
    RuleTestEvent.objects.bulk_create(rows, batch_size=200)
    return before != {(row.rule.pk, row.path, row.event_count) for row in rows}


def _rule_ids(info: Path) -> list[str]:
    try:
        meta = yaml.safe_load(info.read_text(encoding="utf-8")) or {}
        return [
            str(entry["id"]) for entry in meta.get("rule_metadata") or [] if isinstance(entry, dict) and "id" in entry
        ]
    except (OSError, yaml.YAMLError, UnicodeDecodeError, AttributeError) as exc:
        log.warning("%s: %s", info, exc)
        return []


def test_events_of(rule: Rule) -> list[RuleTestEvent]:
    return list(RuleTestEvent.objects.filter(rule=rule).order_by("path"))
