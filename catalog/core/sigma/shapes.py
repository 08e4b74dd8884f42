"""Logged events in a SIEM's shape, renamed to the Windows fields Sigma rules are written against.

Rules name the fields of the Windows XML rendering (EventData's `CommandLine`, `Image`, System's `Channel`,
`EventID`, `Provider_Name`). The same event exported from another tool names them otherwise; `normalize`
recognises the shape and gives the event the Windows names too:

* "ecs": Winlogbeat / Elastic Agent (`winlog.channel`, `winlog.event_data.*`, `process.command_line`), nested
  objects or dotted keys alike: pySigma-backend-elasticsearch's `ecs_windows` pipeline read in reverse;
* "splunk": Splunk's Windows add-on and CIM names (`EventCode`, `source=XmlWinEventLog:<channel>`, `process`,
  `parent_process_path`, ...), also inside a search export's {"result": {...}}: `splunk_windows` and
  `splunk_cim` (pySigma-backend-splunk);
* "sentinel-securityevent": Microsoft Sentinel's SecurityEvent rows (`NewProcessName`, `ParentProcessName`):
  pySigma-backend-kusto's `azure_monitor`, table SecurityEvent;
* "defender-xdr": Defender XDR's Device*Events rows (`FolderPath`, `ProcessCommandLine`,
  `InitiatingProcessFolderPath`): `microsoft_xdr`, for the row's table;
* "windows-xml": the Windows rendering itself (EVTX as JSON, flattened by catalog.core.sigma.logged_events,
  or already flat with its `Channel` / `Provider_Name`); "flat": any other JSON, read with its own names.

The renamed fields come first, so a keyword found in a value is shown under its Windows name; where the
event has a field of that Windows name itself, its own value is kept. The event's other fields follow
as logged (dotted), so nothing is lost and a rule written against them still reads them. The pipelines'
tables are in catalog.core.sigma.shape_mappings; what they do not say (how to tell the shapes apart, where
each one keeps its channel, and a Defender row's table) is written below.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from . import event_fields
from . import shape_mappings as pipelines
from .event_fields import dotted, flattened

WINDOWS_XML, ECS, SPLUNK, SENTINEL, DEFENDER, FLAT = (
    "windows-xml",
    "ecs",
    "splunk",
    "sentinel-securityevent",
    "defender-xdr",
    "flat",
)
LABELS = {
    WINDOWS_XML: "Windows XML rendering",
    ECS: "Elastic Common Schema (Winlogbeat / Elastic Agent)",
    SPLUNK: "Splunk Windows add-on / CIM",
    SENTINEL: "Microsoft Sentinel SecurityEvent",
    DEFENDER: "Microsoft Defender XDR",
    FLAT: "flat JSON, fields read as named",
}

# How the shapes are told apart: fields none of the others has (no pipeline says what an event looks like).
SPLUNK_KEYS = {"EventCode", "sourcetype", "_raw", "_time", "splunk_server"}
SPLUNK_EXPORT_KEYS = {"result", "preview", "offset", "lastrow"}  # a row of a search's JSON export, unwrapped
DEFENDER_KEYS = {"DeviceId", "DeviceName", "ReportId", "InitiatingProcessFolderPath", "InitiatingProcessFileName"}
SENTINEL_KEYS = {"TimeGenerated", "TenantId", "SourceSystem", "EventSourceName", "Activity"}
# Where a shape keeps the event id or channel, when no pipeline maps it there: ecs_windows maps EventID to
# `event.code`, but Winlogbeat also writes `winlog.event_id`; splunk_windows only adds the condition
# source="WinEventLog:<channel>", and the add-on's XML events come as XmlWinEventLog:<channel>.
ECS_EXTRA = {"winlog.event_id": ("EventID",)}
# Winlogbeat keeps an event's UserData (an event 104's LogFileCleared) under `winlog.user_data`, which ecs_windows
# does not name: read as the event's own fields, as `winlog.event_data` is.
ECS_DATA_PREFIXES = ("winlog.user_data.",)
SPLUNK_CHANNEL_KEYS = ("source", "sourcetype")
SPLUNK_CHANNEL_PREFIXES = ("XmlWinEventLog:", "WinEventLog:")
# A Defender row names its table only when exported with it (Sentinel's `Type`, Advanced Hunting's `$table`);
# otherwise its ActionType tells (Microsoft's Advanced Hunting schema reference), which microsoft_xdr does
# not map: it picks tables by rule category.
DEFENDER_TABLE_KEYS = ("Type", "$table", "TableName")
DEFENDER_ACTIONS = (
    ("ProcessCreated", "DeviceProcessEvents"),
    ("ImageLoaded", "DeviceImageLoadEvents"),
    ("File", "DeviceFileEvents"),
    ("Registry", "DeviceRegistryEvents"),
    ("Connection", "DeviceNetworkEvents"),
    ("InboundConnection", "DeviceNetworkEvents"),
    ("ListeningConnection", "DeviceNetworkEvents"),
)


def normalize(event: dict) -> tuple[dict[str, Any], str]:
    """(the event's fields, with the Windows names rules use, the shape it was recognised in) for a JSON
    event other than the EVTX rendering, which catalog.core.sigma.logged_events flattens itself."""
    fields = dotted(event)
    shape = _shape(fields)
    inner = event.get("result")
    if shape is None and isinstance(inner, dict) and set(event) <= SPLUNK_EXPORT_KEYS:
        fields = dotted(inner)  # a row of a Splunk search's JSON export: {"preview": false, "result": {...}}
        shape = _shape(fields)
        event = inner if shape else event
    if shape == ECS:
        return _ecs(fields), shape
    if shape == SPLUNK:
        return _splunk(fields), shape
    if shape == DEFENDER:
        return _defender(fields), shape
    if shape == SENTINEL:
        return _renamed(fields, pipelines.reversed_pipeline("azure_monitor").tables["SecurityEvent"]), shape
    flat = flattened(event)
    return flat, WINDOWS_XML if ("Channel" in flat or "Provider_Name" in flat) else FLAT


def _shape(fields: dict[str, Any]) -> str | None:
    keys = fields.keys()
    if any(key.startswith(("winlog.", "ecs.")) for key in keys):
        return ECS
    if keys & SPLUNK_KEYS or any(_splunk_channel(fields.get(key)) for key in SPLUNK_CHANNEL_KEYS):
        return SPLUNK
    if _defender_table(fields) or ("ActionType" in keys and keys & DEFENDER_KEYS):
        return DEFENDER
    if fields.get("Type") == "SecurityEvent" or ("EventID" in keys and keys & SENTINEL_KEYS):
        return SENTINEL
    return None


def _ecs(fields: dict[str, Any]) -> dict[str, Any]:
    prefixes = (*pipelines.reversed_pipeline("ecs_windows").prefixes, *ECS_DATA_PREFIXES)
    own = {}  # the event's own Windows fields, which ecs_windows puts under `winlog.event_data.`
    header = {}  # the record header's fields (winlog.channel, event.code): where own holds them too, see event_fields
    reverse = _ecs_reverse()
    for key, value in fields.items():
        data = next((prefix for prefix in prefixes if key.startswith(prefix) and len(key) > len(prefix)), None)
        if data:
            own.setdefault(key[len(data) :], value)
        else:
            for name in reverse.get(key, ()):
                if name in event_fields.HEADER:
                    header.setdefault(name, value)
    return event_fields.with_header(_renamed(fields, reverse, own), header, own)


@cache
def _ecs_reverse() -> pipelines.Reverse:
    return pipelines.merged(pipelines.reversed_pipeline("ecs_windows").fields, ECS_EXTRA)


def _splunk(fields: dict[str, Any]) -> dict[str, Any]:
    channel = next(filter(None, (_splunk_channel(fields.get(key)) for key in SPLUNK_CHANNEL_KEYS)), None)
    return _renamed(fields, _splunk_reverse(), {"Channel": channel} if channel else {})


@cache
def _splunk_reverse() -> pipelines.Reverse:
    windows, cim = (pipelines.reversed_pipeline(name).fields for name in ("splunk_windows", "splunk_cim"))
    return pipelines.without_prefixes(pipelines.merged(windows, cim))


def _splunk_channel(value) -> str:
    text = value if isinstance(value, str) else ""
    for prefix in SPLUNK_CHANNEL_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return ""


def _defender(fields: dict[str, Any]) -> dict[str, Any]:
    mapping = pipelines.reversed_pipeline("microsoft_xdr")
    return _renamed(fields, mapping.tables.get(_defender_table(fields), mapping.fields))


def _defender_table(fields: dict[str, Any]) -> str:
    for key in DEFENDER_TABLE_KEYS:
        table = fields.get(key)
        if isinstance(table, str) and table.startswith("Device"):
            return table
    action = fields.get("ActionType")
    if isinstance(action, str):
        return next((table for prefix, table in DEFENDER_ACTIONS if action.startswith(prefix)), "")
    return ""


def _renamed(fields: dict[str, Any], reverse: pipelines.Reverse, found: dict[str, Any] | None = None) -> dict[str, Any]:
    """Windows fields (`found`, then each field `reverse` gives back, first value wins), the event's own
    field of a Windows name winning; then the event's fields as logged."""
    renamed = dict(found or {})
    for key, value in fields.items():
        for name in reverse.get(key, ()):
            renamed.setdefault(name, value)
    for name in renamed:
        if name in fields:
            renamed[name] = fields[name]
    return renamed | {key: value for key, value in fields.items() if key not in renamed}
