"""One correlation being evaluated: its entries waiting for their turn, its open windows, its fires.

Semantics (documented for users in catalog/core/sigma/correlation/__init__.py):
- A window is the entries of one group-by key within `timespan` of its oldest entry (sliding: every entry
  starts one).
- Counting types whose condition only has lower bounds (gt, gte; a temporal expression without `not`) are
  decided as each entry arrives: they fire on the entry that meets the condition. The fire stays open for
  the rest of its window (entries within `timespan` of its first one join it and are counted, not fired
  again), then the group starts afresh. So 50 failed logons in a minute are one result of 50 events.
- The others (upper bounds: lt, lte, eq, neq; sums, averages, percentiles) are decided when a window closes,
  i.e. when time passes `timespan` after its first entry, over consecutive windows: the group's next entry
  opens the next one. (Sliding windows would always find a part of a window under an upper bound, or a
  part whose average is higher: "fewer than 4" would fire on the last 3 of any 4 events.)
- A fire's time is that of its last entry; a correlation that chains this one gets it as an entry then.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

from .spec import CorrelationSpec
from .timestamps import shown
from .windows import Entry, Window

STALE_OPEN_FIRES = 1024  # open fires kept before those whose window has passed are dropped


class Node:
    def __init__(self, spec: CorrelationSpec, targets: tuple[str, ...], shown_events: int, emit):
        self.spec = spec
        self.targets = targets  # resolved keys of what `rules` names, in order
        self.shown_events = shown_events
        self.emit = emit  # called with (node, fire dict, fire time)
        self.lag = 0.0  # how long its entries wait (chained correlations decided late)
        self.inbox: list = []  # heap of (ts, seq, key, entry)
        self.groups: dict[tuple, Window] = {}
        self.expiries: deque = deque()  # (expiry, key, entry): in time order, as entries are added
        self.open: dict[tuple, tuple[dict, float]] = {}  # key -> (fire, until): early fires still counting
        self.not_grouped = 0  # entries left out: a group-by field (or the condition field) missing
        self.aliases: dict[str, dict[str, str]] = {}  # alias -> target key -> field (resolved from rule names)
        self.inner: list[Node] = []  # the correlations it chains
        self.outer: list[Node] = []  # the correlations chaining it

    def fields_for(self, target: str) -> tuple[list[str], str]:
        """The event fields an entry of `target` is grouped by (aliases resolved) and the condition field."""
        by = []
        for name in self.spec.group_by:
            mapping = self.aliases.get(name)
            by.append(mapping.get(target, name) if mapping else name)
        return by, self.spec.condition.field

    def push(self, ts: float, seq: int, key: tuple, entry: Entry) -> None:
        heapq.heappush(self.inbox, (ts, seq, key, entry))

    def step(self, clock: float) -> None:
        """Take every waiting entry up to `clock - lag`, in time order, then close the windows it passed."""
        until = clock - self.lag
        while self.inbox and self.inbox[0][0] <= until:
            ts, _, key, entry = heapq.heappop(self.inbox)
            self.advance(ts)
            self.add(key, entry)
        self.advance(until)

    def busy(self) -> bool:
        return bool(self.inbox or self.expiries)

    def add(self, key: tuple, entry: Entry) -> None:
        opened = self.open.get(key)
        if opened is not None:
            fire, until = opened
            if entry.ts <= until:
                self._join(fire, entry)
                return
            del self.open[key]
        window = self.groups.get(key)
        if window is None:
            window = self.groups[key] = Window(self.spec, self.targets)
        if len(window) < self.shown_events:
            entry.keep()
        else:
            entry.drop()
        window.add(entry)
        self.expiries.append((entry.ts + self.spec.timespan, key, entry))
        if self.spec.early:
            holds, measure, focus = window.verdict()
            if holds:
                fire = self._fire(key, window, measure, focus)
                self.open[key] = (fire, window.entries[0].ts + self.spec.timespan)
                self._clear(key)
                self.emit(self, fire, entry.ts)

    def advance(self, clock: float) -> None:
        """Close every window whose oldest entry is more than `timespan` before `clock`."""
        while self.expiries and self.expiries[0][0] < clock:
            _, key, entry = self.expiries.popleft()
            window = self.groups.get(key)
            if window is None or not window.entries or window.entries[0] is not entry:
                continue  # consumed by a fire
            if not self.spec.early:  # decided now that it is whole; the group's next entry opens the next
                holds, measure, focus = window.verdict()
                self._clear(key)
                if holds:
                    self.emit(self, self._fire(key, window, measure, focus), window.entries[-1].ts)
                continue
            window.pop()
            if not window.entries:
                del self.groups[key]
        if len(self.open) > STALE_OPEN_FIRES:
            self.open = {key: item for key, item in self.open.items() if item[1] >= clock}

    def _clear(self, key: tuple) -> None:
        self.groups.pop(key, None)  # its entries in `expiries` are skipped as consumed

    def _fire(self, key: tuple, window: Window, measure: float, focus: Any) -> dict[str, Any]:
        entries = list(window.entries)
        if focus is not None:
            entries = [entry for entry in entries if entry.value == focus]
        for entry in entries[: self.shown_events]:
            entry.keep()  # a window's first entries were kept on arrival; the focus value's may not be
        spec = self.spec
        return {
            "id": spec.key,
            "title": spec.title,
            "level": spec.level,
            "type": spec.type,
            "legacy": spec.legacy,
            "generate": spec.generate,
            "condition": spec.condition_text(),
            "group": [{"field": name, "value": value} for name, value in zip(spec.group_by, key, strict=True)],
            "value": _measure(measure),
            "focus": focus,
            "window": {"start": shown(entries[0].ts), "end": shown(entries[-1].ts)},
            "events": [entry.described() for entry in entries[: self.shown_events]],
            "event_count": len(entries),
            "events_left_out": max(0, len(entries) - self.shown_events),
        }

    def _join(self, fire: dict, entry: Entry) -> None:
        """An entry within an open fire's window: counted with it (and shown while there is room)."""
        fire["event_count"] += 1
        if len(fire["events"]) < self.shown_events:
            entry.keep()
            fire["events"].append(entry.described())
        else:
            entry.drop()
            fire["events_left_out"] += 1
        fire["window"]["end"] = shown(entry.ts)
        if self.spec.type == "event_count":
            fire["value"] = fire["event_count"]


def _measure(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 6)
