"""What a sample of logs holds: its events, by channel and event id or by log source, and the fields each fills.

The events are read as /match/ reads them (catalog.core.sigma.event_files: EVTX, JSON, JSON lines; ECS,
Splunk, Sentinel and Defender XDR shapes renamed to the Windows names; NUL characters dropped) and sorted
by the log source matching infers (catalog.matching.logsources.infer):

* a Windows event (it names its Channel or Provider_Name) counts under its service and event id,
  ("sysmon", 1), the pair a profile's `events` lists;
* any other event the catalog recognises counts under its log source (product, category, service),
  a part it cannot tell being "any" (a process creation without a path to tell the platform);
* an event of neither kind (no EventID, a channel the catalog does not know, no field set it
  recognises) is counted with the reason, and collects nothing.

Per event, a field is *present* when the event has it and *filled* when its value is not empty (None,
"", only spaces or an empty list): an element a Windows event writes with no text is present but empty.
Names are compared casefolded and shown as first seen. Reading stops after `max_events` events in all
(the sample's cap), and says so (`Sample.truncated`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from catalog.core.sigma.event_files import EventFileError, FileLimits, read_events
from catalog.matching.logsources import infer


@dataclass
class Seen:
    """One kind of event of the sample: how many records, and per field how many have it and fill it."""

    records: int = 0
    present: Counter = field(default_factory=Counter)  # casefolded field -> records that have it
    filled: Counter = field(default_factory=Counter)  # casefolded field -> records where it is not empty
    names: dict[str, str] = field(default_factory=dict)  # casefolded field -> as first seen

    def add(self, flat: dict) -> None:
        self.records += 1
        for name, value in flat.items():
            folded = name.casefold()
            self.names.setdefault(folded, name)
            self.present[folded] += 1
            if not _empty(value):
                self.filled[folded] += 1

    @property
    def filled_fields(self) -> frozenset[str]:
        return frozenset(self.filled)

    def rate(self, folded: str) -> float:
        """The fraction of records where the field is present and not empty."""
        return self.filled[folded] / self.records if self.records else 0.0


def _empty(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


@dataclass
class Sample:
    events: dict[tuple[str, int], Seen] = field(default_factory=dict)
    logsources: dict[tuple[str | None, str | None, str | None], Seen] = field(default_factory=dict)
    unknown: Counter = field(default_factory=Counter)  # why an event collects nothing -> records
    records: int = 0
    files: list[tuple[str, int]] = field(default_factory=list)  # (name, events read)
    truncated: bool = False  # reading stopped at the cap

    def add(self, flat: dict) -> None:
        self.records += 1
        source = infer(flat)
        if source.product == "windows" and (flat.get("Channel") or flat.get("Provider_Name")):
            event_id = _int(flat.get("EventID"))
            if event_id is None:
                self.unknown["a Windows event without a numeric EventID"] += 1
            elif not source.service:
                self.unknown[f"the Windows channel {flat.get('Channel') or flat.get('Provider_Name')}"[:200]] += 1
            else:
                self.events.setdefault((source.service, event_id), Seen()).add(flat)
        elif source.known:
            key = tuple(part or None for part in (source.product, source.category, source.service))
            self.logsources.setdefault(key, Seen()).add(flat)
        else:
            self.unknown["no Channel and no field set the catalog recognizes"] += 1


def _int(value) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 10**9 else None


def read_sample(files: list[tuple[Path, str, str | None]], limits: FileLimits, max_events: int) -> Sample:
    """The sample of `files` ((path, name shown, format or None to tell by the file) each), at most
    `max_events` events in all; EventFileError names the file and place of what cannot be read."""
    sample = Sample()
    for path, name, kind in files:
        read = 0
        if sample.records >= max_events:
            sample.truncated = True
            sample.files.append((name, 0))
            continue
        events = read_events(path, name, limits, kind)
        try:
            for event in events:
                if sample.records >= max_events:
                    sample.truncated = True
                    break
                sample.add(event.flat)
                read += 1
        finally:
            events.close()  # the EVTX parser and the file are let go when reading stops early
        sample.files.append((name, read))
    return sample


__all__ = ["EventFileError", "Sample", "Seen", "read_sample"]
