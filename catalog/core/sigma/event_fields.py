"""Which value a Sigma field name reads in a logged event, when the event nests its fields or holds a name twice.

The Windows rendering (EVTX as JSON: {"Event": {"System": ..., "EventData" | "UserData": ...}}) is read as the
Sigma specification's Field Usage says: System elements by their tag (`EventID`, `Channel`, `Computer`), their
attributes as `Tag_Attribute` (`Provider_Name`, `Security_UserID`, `Execution_ProcessID`); EventData's
`<Data Name="X">` as `X`; UserData's elements by their dotted path and by their own name.

The record header (System) and the event's data can both hold a name: a System-log event 104 (a log was
cleared) says in System which log it was written to (`Channel: System`) and in UserData `LogFileCleared` which
log was cleared (`Channel: Security`). A rule naming such a field means the event's data:
SigmaHQ's two event-log-cleared rules list `Security`, `Microsoft-Windows-Sysmon/Operational`, ... as the
`Channel` of a `service: system` event, which only the cleared log can be (with the header's value, the one rule
fires on every clearing and the other never does). So:

* a name the event data holds reads the data's value, and the header's stays as `System.<name>`;
* except the record's identity, `EventID` and `Provider_Name`, which every rule uses to pick the event: they
  stay the header's, and the data's value is read by its path (`EventData.EventID`, `LogFileCleared.EventID`);
* the log source of the event (catalog.matching) is the header's: `record_fields` gives it back.

XML has no null: a data element that is there with no text holds ''. evtx renders an empty `<Data>` as "" but
an empty UserData element as null; both are read as '', and a field is null only when the event does not have it
(catalog.core.sigma.values: `field: null` versus `field: ''`). ECS events (catalog.core.sigma.shapes) keep the
same rule with `winlog.channel`, `winlog.event_id` as their header. docs/design.md, "Reading events".
"""

from __future__ import annotations

from typing import Any

SYSTEM = "System."  # the prefix of a header value that the event's data displaced
IDENTITY = ("EventID", "Provider_Name")  # the header's even where the data holds the name
HEADER = (*IDENTITY, "Channel", "Computer")  # header fields other shapes name too (ECS: winlog.channel, host.name)
DATA_SECTIONS = ("EventData", "UserData")


def windows_rendering(event: dict) -> dict[str, Any]:
    """The flat fields of one Windows event rendered as JSON (`event` is the object under "Event")."""
    system = event.get("System")
    header = _system(system if isinstance(system, dict) else {})
    data: dict[str, Any] = {}
    for section in DATA_SECTIONS:
        body = event.get(section)
        if isinstance(body, dict):
            for name, value in _section(section, body).items():
                data.setdefault(name, value)
    flat = combined(header, data)
    # Some providers (Windows Defender) name fields with spaces; Sigma writes them without.
    for key in [k for k in flat if " " in k]:
        flat.setdefault(key.replace(" ", ""), flat[key])
    return flat


def combined(header: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Header and data fields as one event, a name both hold read as the module docstring says."""
    flat = dict(header)
    for name, value in data.items():
        if name not in header:
            flat[name] = value
        elif name not in IDENTITY:
            if header[name] != value:
                flat[SYSTEM + name] = header[name]
            flat[name] = value
    return flat


def with_header(flat: dict[str, Any], header: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """An event already combined with its data winning every name (ECS), given the same rule: for each header
    field the data also holds, the identity keeps the header's value and any other keeps it as System.<name>."""
    for name, value in header.items():
        if name in data and data[name] != value:
            if name in IDENTITY:
                flat[name] = value
            else:
                flat.setdefault(SYSTEM + name, value)
    return flat


def record_fields(flat: dict[str, Any]) -> dict[str, Any]:
    """The event as its record header describes it (the log it was written to), for choosing its log source:
    header values the data displaced are back under their names. The event itself when none was."""
    displaced = {name: flat[SYSTEM + name] for name in HEADER if SYSTEM + name in flat}
    return flat | displaced if displaced else flat


def _system(system: dict) -> dict[str, Any]:
    """System elements by tag, attributes as Tag_Attribute; `TimeCreated` is also its SystemTime, as rules and
    the timeline read it."""
    header: dict[str, Any] = {}
    for key, value in system.items():
        if not isinstance(value, dict):
            header[key] = value
            continue
        attributes = value.get("#attributes") if isinstance(value.get("#attributes"), dict) else {}
        if "#text" in value:
            header[key] = value["#text"]
        elif key == "TimeCreated":
            header[key] = attributes.get("SystemTime")
        for attribute, attribute_value in attributes.items():
            if not isinstance(attribute_value, (dict, list)):
                header[f"{key}_{attribute}"] = attribute_value
    return header


def _section(section: str, body: dict) -> dict[str, Any]:
    """One data section's fields: named <Data> elements, the other elements by path and by name, the unnamed
    <Data> values as `Data`, one a line. A name that is the record's identity is kept as <section>.<name>."""
    named, unnamed = _data_elements(body.get("Data"))
    rest = {key: value for key, value in body.items() if key != "Data"}
    fields: dict[str, Any] = {}
    for key, value in [*named.items(), *flattened(rest).items()]:
        fields.setdefault(key if key not in IDENTITY else f"{section}.{key}", _text(value))
    if unnamed and "Data" not in fields:
        # SigmaHQ's `Data` is the event data as a whole (`Data|contains|all: [MsMpEng.exe, mpengine.dll]`
        # looks in two <Data> elements): the unnamed values, one a line.
        fields["Data"] = "\n".join(unnamed)
    return fields


def _text(value: Any) -> Any:
    return "" if value is None else value


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


def dotted(data: dict, prefix: str = "") -> dict[str, Any]:
    """Nested objects flattened to dotted keys ({"process": {"pid": 4}} and {"process.pid": 4} alike)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(dotted(value, f"{name}."))
        else:
            flat.setdefault(name, value)
    return flat


def flattened(data: dict, prefix: str = "") -> dict[str, Any]:
    """Any JSON object flattened, nested keys joined by dots and also reachable by their last part."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key == "#attributes":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            for sub_key, sub_value in flattened(value, f"{name}.").items():
                flat[sub_key] = sub_value
                flat.setdefault(sub_key.rsplit(".", 1)[-1], sub_value)
        else:
            flat[name] = value
    return flat
