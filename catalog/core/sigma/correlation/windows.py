"""The open window of one correlation and one group-by key: its events and the running measure.

A window holds the entries (events, or fires of a correlation it chains) of one group that lie within the
timespan of its oldest entry, in time order. Each type keeps what its measure needs, updated as entries come
and go, so a measure costs O(1) (counts, sums), O(log n + n) (a percentile: one sorted insert) or O(n) (the
ordered sequence of temporal_ordered, the rarest value's share) rather than a pass over the file.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from typing import Any

from .spec import CorrelationSpec


class Entry:
    """One event (or chained fire) in a window: what the result shows of it, nothing of the event itself."""

    __slots__ = ("ts", "time_text", "number", "file", "rules", "value", "shown", "explain")

    def __init__(self, ts, time_text, number, file, rules, value, shown=None, explain=None):
        self.ts = ts
        self.time_text = time_text
        self.number = number
        self.file = file
        self.rules = rules  # the targets (base rule or correlation keys) it is a hit of
        self.value = value  # the condition field's value (a number for the metric types), or None
        self.shown = shown  # [{rule, explanation}] (or a chained fire's summary), once kept for a result
        self.explain = explain  # zero-argument callables / values giving `shown`, until it is kept or dropped

    def keep(self) -> None:
        """Resolve what the result shows of this entry (its base rules' explanations), once."""
        if self.explain is not None:
            self.shown = [item() if callable(item) else item for item in self.explain]
            self.explain = None

    def drop(self) -> None:
        self.explain = None  # not among the shown events: release the event the callables hold

    def described(self) -> dict[str, Any]:
        described = {"number": self.number, "file": self.file, "timestamp": self.time_text}
        if self.shown is not None and self.number is None:
            described["correlation"] = self.shown[0]  # a chained correlation's fire
        else:
            described["hits"] = self.shown or []
        return described


class Window:
    def __init__(self, spec: CorrelationSpec, order: tuple[str, ...]):
        self.spec = spec
        self.order = order  # the targets, in the correlation's order
        self.entries: deque[Entry] = deque()
        self.values: Counter = Counter()  # value_count, share: entries per value
        self.rules: Counter = Counter()  # temporal: entries per target
        self.total = 0  # value_sum / value_avg
        self.numbers: list = []  # numeric percentile: the values, sorted

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self._count(entry, 1)

    def pop(self) -> Entry:
        entry = self.entries.popleft()
        self._count(entry, -1)
        return entry

    def _count(self, entry: Entry, step: int) -> None:
        kind = self.spec.type
        if kind == "value_count" or (kind == "value_percentile" and self.spec.condition.percentile is None):
            self.values[entry.value] += step
            if not self.values[entry.value]:
                del self.values[entry.value]
        elif kind in ("temporal", "temporal_ordered"):
            for rule in entry.rules:
                self.rules[rule] += step
                if not self.rules[rule]:
                    del self.rules[rule]
        elif kind in ("value_sum", "value_avg"):
            self.total += step * entry.value
        elif kind in ("value_percentile", "value_median"):
            if step > 0:
                bisect.insort(self.numbers, entry.value)
            else:
                del self.numbers[bisect.bisect_left(self.numbers, entry.value)]

    def verdict(self) -> tuple[bool, float, Any]:
        """(whether the condition holds, the measure, the value it is about: share mode's rare value)."""
        spec, condition = self.spec, self.spec.condition
        kind = spec.type
        if kind == "event_count":
            measure = len(self.entries)
        elif kind == "value_count":
            measure = len(self.values)
        elif kind == "temporal" and condition.expression is not None:
            present = set(self.rules)
            holds = condition.expression.holds(present)
            return holds, float(len(present)), None
        elif kind == "temporal":
            measure = len(self.rules)
        elif kind == "temporal_ordered":
            measure = self._in_order()
        elif kind == "value_sum":
            measure = self.total
        elif kind == "value_avg":
            measure = self.total / len(self.entries) if self.entries else 0
        elif condition.percentile is not None:
            rank = max(1, math.ceil(condition.percentile / 100 * len(self.numbers)))
            measure = self.numbers[rank - 1] if self.numbers else 0
        else:
            return self._share()
        return condition.holds(measure), float(measure), None

    def _in_order(self) -> int:
        """How many of the rules, in their order, hit successive entries (greedy: the earliest sequence)."""
        done = 0
        for entry in self.entries:
            if done < len(self.order) and self.order[done] in entry.rules:
                done += 1
        return done

    def _share(self) -> tuple[bool, float, Any]:
        """Share mode of value_percentile: some value whose share (percent of the window's entries) meets
        the condition; the rarest such value is reported."""
        total = len(self.entries)
        best = None
        for value, count in sorted(self.values.items(), key=lambda item: item[1]):
            share = 100.0 * count / total
            if self.spec.condition.holds(share):
                return True, share, value
            best = share if best is None else best
        return False, best or 0.0, None
