"""Logged events as rules read them: JSON text to flat field -> value maps, within limits.

Anyone may paste events into /match/, so reading them is bounded before and while parsing: the
JSON nesting depth is measured without recursion before the text is decoded, decoding stops at the
first event past the limit, and every flattened event is checked for its number of fields, the
length of its values and characters that have no place in a logged value (NUL, lone surrogates).
Problems raise `EventInputError` with a message naming the event and field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from . import shapes


class EventInputError(ValueError):
    """Input that is valid JSON but not acceptable as events (too many, too deep, too long...)."""


@dataclass(frozen=True)
class EventLimits:
    max_events: int = 100
    max_fields: int = 1_000  # per flattened event; a Windows event has a few dozen
    max_value_chars: int = 32_768  # per value; Windows caps a command line at 32,767 characters
    max_depth: int = 32  # JSON nesting; an EVTX event rendered as JSON is about 5 deep


NO_LIMITS = EventLimits(max_events=10**12, max_fields=10**12, max_value_chars=10**12, max_depth=900)

_NOT_BRACKETS = re.compile(r"[^\[\]{}]")


def nesting_depth(text: str) -> int:
    """How deeply JSON arrays and objects nest in `text`, counted without recursion or parsing.

    Escaped backslashes and quotes are removed first, so every remaining `"` opens or closes a
    string; brackets inside strings (the odd pieces between quotes) are not counted.
    """
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside_strings = "".join(unescaped.split('"')[0::2])
    brackets = _NOT_BRACKETS.sub("", outside_strings)
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def load_events(text: str, limits: EventLimits = NO_LIMITS) -> list[dict]:
    """Every JSON object in a text: one event, a list of them, or several objects one after another
    (as EVTX-to-JSON tools write them). Raises json.JSONDecodeError or EventInputError."""
    text = text.lstrip("\ufeff")
    depth = nesting_depth(text)
    if depth > limits.max_depth:
        raise EventInputError(f"JSON nested {depth} levels deep (at most {limits.max_depth}).")
    decoder = json.JSONDecoder()
    events: list[dict] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return events
        try:
            value, position = decoder.raw_decode(text, position)
        except RecursionError:  # only reachable with limits above the interpreter's own
            raise EventInputError("JSON nested too deeply.") from None
        events.extend(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict))
        if len(events) > limits.max_events:
            raise EventInputError(f"At most {limits.max_events} events at a time (more given).")


def read_events(text: str, limits: EventLimits) -> list[dict[str, Any]]:
    """`load_events`, flattened and checked against the limits: the events as rules read them."""
    return [flat for flat, _ in read_shaped_events(text, limits)]


def read_shaped_events(text: str, limits: EventLimits) -> list[tuple[dict[str, Any], str]]:
    """`read_events`, each event with the shape it was recognised in (catalog.core.sigma.shapes)."""
    events = load_events(text, limits)
    if not events:
        raise EventInputError("No JSON object found.")
    shaped = []
    for number, event in enumerate(events, start=1):
        flat, shape = shaped_event(event)
        _check(flat, number, limits)
        shaped.append((flat, shape))
    return shaped


def _check(flat: dict[str, Any], number: int, limits: EventLimits) -> None:
    if len(flat) > limits.max_fields:
        raise EventInputError(f"Event {number} has {len(flat)} fields (at most {limits.max_fields}).")
    for key, value in flat.items():
        text = value if isinstance(value, str) else str(value)
        if len(text) > limits.max_value_chars:
            raise EventInputError(
                f"Event {number}, field {key[:80]!r}: value of {len(text)} characters "
                f"(at most {limits.max_value_chars})."
            )
        for part, what in ((key, "name"), (text, "value")):
            if "\x00" in part:
                raise EventInputError(f"Event {number}, field {key[:80]!r}: NUL character in the {what}.")
            try:
                part.encode("utf-8")
            except UnicodeEncodeError:
                raise EventInputError(
                    f"Event {number}, field {key[:80]!r}: lone surrogate (invalid Unicode) in the {what}."
                ) from None


def flatten_event(data: dict) -> dict[str, Any]:
    """A logged event as the flat field -> value map Sigma rules are written against (`shaped_event`)."""
    return shaped_event(data)[0]


def shaped_event(data: dict) -> tuple[dict[str, Any], str]:
    """A logged event as the flat field -> value map Sigma rules are written against, and its shape.

    Windows events rendered from EVTX as JSON ({"Event": {"System": ..., "EventData": ...}}) give
    their EventData (and UserData) fields plus the System ones Sigma uses (EventID, Channel,
    Computer, Provider_Name, ...). Any other JSON object goes to catalog.core.sigma.shapes: an event
    from ECS, Splunk, Sentinel or Defender XDR gets the Windows field names rules use; any other is
    flattened, nested keys joined by dots and also reachable by their last part.
    """
    event = data.get("Event") if isinstance(data.get("Event"), dict) else None
    if event is None:
        return shapes.normalize(data)
    flat: dict[str, Any] = {}
    system = event.get("System") or {}
    for key, value in system.items():
        if key == "Provider" and isinstance(value, dict):
            attributes = value.get("#attributes") or {}
            flat["Provider_Name"] = attributes.get("Name")
            flat["Provider_Guid"] = attributes.get("Guid")
        elif key == "TimeCreated" and isinstance(value, dict):
            flat["TimeCreated"] = (value.get("#attributes") or {}).get("SystemTime")
        elif key == "EventID" and isinstance(value, dict):
            flat["EventID"] = value.get("#text")
        elif not isinstance(value, dict):
            flat[key] = value
    for section in ("EventData", "UserData"):
        body = event.get(section)
        if isinstance(body, dict):
            named, unnamed = _data_elements(body.get("Data"))
            flat.update(named)
            rest = {k: v for k, v in body.items() if k != "Data"}
            flat.update({k: v for k, v in shapes.flattened(rest).items() if k not in flat})
            if unnamed and "Data" not in flat:
                # SigmaHQ's `Data` is the event data as a whole (`Data|contains|all: [MsMpEng.exe, mpengine.dll]`
                # looks in two <Data> elements): the unnamed values, one a line.
                flat["Data"] = "\n".join(unnamed)
    # Some providers (Windows Defender) name fields with spaces; Sigma writes them without.
    for key in [k for k in flat if " " in k]:
        flat.setdefault(key.replace(" ", ""), flat[key])
    return flat, shapes.WINDOWS_XML


def _data_elements(data: Any) -> tuple[dict[str, Any], list[str]]:
    """({name: value} of the named <Data Name="..."> elements, [values of the unnamed ones]).

    EVTX-to-JSON tools render <Data> elements as a list (of dicts, or of plain values when unnamed),
    a single value or dict, or evtx's `{"#text": [...]}` for a run of unnamed ones.
    """
    named: dict[str, Any] = {}
    unnamed: list[str] = []
    for entry in data if isinstance(data, list) else [data]:
        if isinstance(entry, dict):
            name = (entry.get("#attributes") or {}).get("Name") if isinstance(entry.get("#attributes"), dict) else None
            if name:
                named[str(name)] = entry.get("#text")
                continue
            entry = entry.get("#text")
        for value in entry if isinstance(entry, list) else [entry]:
            if value is not None and not isinstance(value, (dict, list)):
                unnamed.append(value if isinstance(value, str) else str(value))
    return named, unnamed
