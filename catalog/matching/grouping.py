"""Matching a file of events: hits grouped by rule and by event, with explanations of sample events.

By rule: count, level, first and last timestamp, and the first few events that fired it, each with
its explanation. By event: a timeline of the events that fired anything, in time order, each with the
fields an analyst reads first (computer, user, process, command line, file: TIMELINE_FIELDS). Both are
plain JSON (stored on a MatchJob, returned by the API, written by `match_event --format jsonl`).
Matching itself is `catalog.matching.engine.match_events`, on chunks of events, so progress can be
reported between chunks and a time budget can stop a job with partial results. Correlation rules are
evaluated over the same events (catalog.matching.correlating): their results are under "correlations".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings

from catalog.core.sigma.event_files import FileLimits, LoggedEvent, count_events, file_format, read_events
from catalog.core.sigma.logged_events import EventLimits
from catalog.matching.budget import ExplanationBudget
from catalog.matching.correlating import Correlator
from catalog.matching.engine import match_events
from catalog.matching.explaining import explain_within, matched_within
from catalog.models import CatalogVersion
from catalog.operations.metrics import count_match_events

CHUNK = 500  # events matched between two progress reports
# What an analyst reads first about an event with hits, shown in the timeline as the event carries it: the
# first of each row's field names it has (Windows names; an ECS, Splunk or Sentinel event was given them when
# read, catalog.core.sigma.shapes). Security 4688 writes the process as NewProcessName, the user as
# SubjectUserName. Each value is cut to TIMELINE_VALUE_CHARS: a job keeps up to CATALOG_MATCH_TIMELINE_EVENTS.
TIMELINE_FIELDS = {
    "Computer": ("Computer",),
    "User": ("User", "SubjectUserName", "TargetUserName"),
    "Image": ("Image", "NewProcessName"),
    "CommandLine": ("CommandLine",),
    "TargetFilename": ("TargetFilename",),
}
TIMELINE_VALUE_CHARS = 500


def file_limits() -> FileLimits:
    return FileLimits(
        max_bytes=settings.CATALOG_MATCH_MAX_UPLOAD_BYTES,
        max_events=settings.CATALOG_MATCH_MAX_FILE_EVENTS,
        per_event=EventLimits(
            max_events=settings.CATALOG_MATCH_MAX_FILE_EVENTS,
            max_fields=settings.CATALOG_MATCH_MAX_FIELDS,
            max_value_chars=settings.CATALOG_MATCH_MAX_VALUE_CHARS,
            max_depth=settings.CATALOG_MATCH_MAX_DEPTH,
        ),
    )


class Grouper:
    """Collects hits event by event; `result()` is the grouped JSON."""

    def __init__(
        self,
        samples: int | None = None,
        timeline: int | None = None,
        budget: ExplanationBudget | None = None,
        details: bool = True,
    ):
        self.samples = settings.CATALOG_MATCH_SAMPLE_EVENTS if samples is None else samples
        # Sample explanations (each stored with its event) within one budget: the results are one answer.
        self.budget = budget or ExplanationBudget()
        self.timeline_cap = settings.CATALOG_MATCH_TIMELINE_EVENTS if timeline is None else timeline
        self.rules: dict[int, dict] = {}
        self.offered: dict[int, int] = {}  # hits offered for a sample explanation, per rule pk
        self.timeline: list[dict] = []
        self.events = self.hit_events = self.left_out = 0
        self.shapes: dict[str, int] = {}  # events per shape they were read in (catalog.core.sigma.shapes)
        self.complete = True
        # Explanations read the rules of this version: one query, at the first, not one a hit (and none for a grouper
        # that only merges others, as a scan's are for each file).
        self.version: int | None = None
        # False (a trusted scan that prints lines, catalog.matching.scanning): a sample hit carries its matched
        # predicates instead of its explanation, no sample is kept and every event is left out of the timeline.
        self.details = details

    def add(self, event: LoggedEvent, rules: list, via: dict | None = None, file: str | None = None) -> list[dict]:
        """Record one event's hits; returns the hits (rule, explanation when it is a sample) in order.
        `via`: rule pk -> the mapped source it fired through (catalog.matching.engine.EventResult).
        `file`: the file the event is from, named on its sample and timeline entries (several files matched)."""
        self.events += 1
        self.shapes[event.shape] = self.shapes.get(event.shape, 0) + 1
        if not rules:
            return []
        self.hit_events += 1
        # A rule's first `samples` hits are offered for explanation, explained or (past the budget) left out.
        sampled = [rule for rule in rules if self.offered.get(rule.pk, 0) < self.samples]
        for rule in sampled:
            self.offered[rule.pk] = self.offered.get(rule.pk, 0) + 1
        explanations, matched = {}, {}
        if sampled:  # only a rule's first few hits are explained: most events with hits have none to explain
            if self.version is None:
                self.version = CatalogVersion.current()
            if self.details:
                explanations, _ = explain_within(
                    sampled, event.flat, self.budget, shown_with_event=True, through=via, version=self.version
                )
            else:
                matched = matched_within(sampled, event.flat, via, self.version)
        where = {} if file is None else {"file": file}
        hits = []
        for rule in rules:
            group = self._group(rule)
            group["count"] += 1
            if event.timestamp:
                group["first"] = min(filter(None, [group["first"], event.timestamp]))
                group["last"] = max(filter(None, [group["last"], event.timestamp]))
            explanation = explanations.get(rule.pk)
            if rule.pk in explanations:
                sample = {**where, "number": event.number, "timestamp": event.timestamp, "event": event.flat}
                group["samples"].append({**sample, "explanation": explanation})
            hits.append({"rule": _rule(rule), "explanation": explanation})
            if not self.details:
                hits[-1]["matched"] = matched.get(rule.pk)
        if len(self.timeline) < self.timeline_cap and self.details:
            # Each entry names at most CATALOG_MATCH_TIMELINE_RULES rules (the rest are counted): an event
            # crafted to fire hundreds of rules must not make every one of a thousand entries that long.
            shown = settings.CATALOG_MATCH_TIMELINE_RULES
            self.timeline.append(
                {
                    **where,
                    "number": event.number,
                    "timestamp": event.timestamp,
                    "rules": [_rule(rule) for rule in rules[:shown]],
                    "rules_left_out": max(0, len(rules) - shown),
                    "fields": timeline_fields(event.flat),
                }
            )
        else:
            self.left_out += 1
        return hits

    def _group(self, rule) -> dict:
        if rule.pk not in self.rules:
            self.rules[rule.pk] = {**_rule(rule), "count": 0, "first": "", "last": "", "samples": []}
        return self.rules[rule.pk]

    def state(self) -> dict[str, Any]:
        """What `merge` takes: the groups and the timeline in event order (plain data: it crosses processes)."""
        return {
            **{"events": self.events, "hit_events": self.hit_events, "shapes": self.shapes},
            **{"complete": self.complete, "rules": self.rules, "timeline": self.timeline, "left_out": self.left_out},
            "explanations_left_out": self.budget.left_out,
        }

    def merge(self, state: dict[str, Any], offset: int = 0) -> None:
        """Add the state of a grouper that read the events that come next (catalog.matching.scanning: a piece of a
        file, `offset` events into it, or a whole file), as if this one had read them: counts add up, first and
        last widen, a rule keeps its first `samples` samples and the timeline its first entries, in event order.
        The pieces were explained without a budget (a trusted scan); this grouper counts the explanations it keeps."""
        self.events += state["events"]
        self.hit_events += state["hit_events"]
        self.complete = self.complete and state["complete"]
        for shape, count in state["shapes"].items():
            self.shapes[shape] = self.shapes.get(shape, 0) + count
        for pk, group in state["rules"].items():
            mine = self.rules.setdefault(pk, {**group, "count": 0, "first": "", "last": "", "samples": []})
            mine["count"] += group["count"]
            mine["first"] = min(filter(None, [mine["first"], group["first"]]), default="")
            mine["last"] = max(filter(None, [mine["last"], group["last"]]), default="")
            kept = group["samples"][: max(0, self.samples - len(mine["samples"]))]
            mine["samples"].extend({**sample, "number": sample["number"] + offset} for sample in kept)
            self.budget.count += sum(sample["explanation"] is not None for sample in kept)
        room = max(0, self.timeline_cap - len(self.timeline))
        self.timeline.extend({**entry, "number": entry["number"] + offset} for entry in state["timeline"][:room])
        self.left_out += state["left_out"] + max(0, len(state["timeline"]) - room)
        self.budget.left_out += state["explanations_left_out"]

    def result(self) -> dict[str, Any]:
        by_rule = sorted(self.rules.values(), key=lambda g: (-g["count"], g["title"]))
        timeline = sorted(self.timeline, key=lambda e: (e["timestamp"] or "\uffff", e["number"]))
        return {
            "events": self.events,
            "hit_events": self.hit_events,
            "shapes": self.shapes,
            "complete": self.complete,
            "rules": by_rule,
            "timeline": timeline,
            "timeline_left_out": self.left_out,
            **self.budget.summary(),
        }


def timeline_fields(flat: dict[str, Any]) -> list[dict[str, str]]:
    """[{field, value}] of the TIMELINE_FIELDS the event carries, in their order (a list: a JSONB object would
    reorder its keys); a value that is empty or not text is left out."""
    found = []
    for name, candidates in TIMELINE_FIELDS.items():
        for candidate in candidates:
            value = flat.get(candidate)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if isinstance(value, str) and value.strip():
                cut = len(value) > TIMELINE_VALUE_CHARS
                found.append({"field": name, "value": value[:TIMELINE_VALUE_CHARS] + ("…" if cut else "")})
                break
    return found


def _rule(rule) -> dict:
    return {"id": str(rule.uuid), "title": rule.title, "level": rule.effective_level or ""}


def batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def match_file(
    path: Path,
    name: str,
    limits: FileLimits | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    on_hits: Callable[[LoggedEvent, list[dict]], None] | None = None,
    budget_seconds: float | None = None,
    kind: str | None = None,
    source=None,
    budget: ExplanationBudget | None = None,
    grouper: Grouper | None = None,
    chunks: tuple[int, int] | None = None,
    labelled: bool = False,
    correlator: Correlator | None = None,
) -> dict[str, Any]:
    """Match every event of a file; raises EventFileError (file and place) on bad input.

    `progress(done, total)` is called after each chunk; `on_hits(event, hits)` for each event that
    fired something. Past `budget_seconds` the result is partial (`complete: false`).
    `kind`: evtx, json or jsonl (default: from the file's signature and name). `source`: the log source of
    every event (catalog.matching.engine.picked), None to infer it per event. `budget`: the sample explanations'
    (catalog.matching.budget; from settings when None). `grouper`: one that already holds other files' hits (the
    result is then theirs and this file's), `labelled`: each sample and timeline entry names its file.
    `chunks`: an EVTX file's chunks [first, stop) only, their events numbered from 1 (catalog.matching.scanning).
    `correlator`: one that spans several files (its caller summarises it); else the file's own, summarised in the
    result's "correlations"."""
    limits = limits or file_limits()
    kind = kind or file_format(path)
    total = count_events(path, name, kind, chunks) if progress is not None else None  # read for the progress only
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    grouper = grouper or Grouper(budget=budget)
    label = name if labelled else None
    own = correlator is None  # a caller's correlator spans its files, and the caller summarises it
    correlator = Correlator.for_catalog(name) if own else correlator  # fed after base matching, in file order
    correlator.file = name
    done = 0
    for chunk in batches(read_events(path, name, limits, kind, chunks), CHUNK):
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        results = match_events([event.flat for event in chunk], remaining, source=source)
        for event, result in zip(chunk, results, strict=True):
            if not result.complete:
                grouper.complete = False
                break
            hits = grouper.add(event, result.rules, result.via, label)
            correlator.add(event, result)
            if hits and on_hits is not None:
                on_hits(event, hits)
        done += len(chunk)
        count_match_events(len(chunk), "file")
        if progress is not None:
            progress(done, total)
        if not grouper.complete:
            break
    summary = grouper.result()
    summary.update(file=name, format=kind)
    if own:
        summary["correlations"] = correlator.summary()
    return summary
