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

from . import event_fields, shapes


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

    Windows events rendered from EVTX as JSON ({"Event": {"System": ..., "EventData": ...}}) give their System,
    EventData and UserData fields as the Sigma specification names them, a name both the header and the data
    hold read as catalog.core.sigma.event_fields says. Any other JSON object goes to catalog.core.sigma.shapes:
    an event from ECS, Splunk, Sentinel or Defender XDR gets the Windows field names rules use; any other is
    flattened, nested keys joined by dots and also reachable by their last part.
    """
    event = data.get("Event") if isinstance(data.get("Event"), dict) else None
    if event is None:
        return shapes.normalize(data)
    return event_fields.windows_rendering(event), shapes.WINDOWS_XML
