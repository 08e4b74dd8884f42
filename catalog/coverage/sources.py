"""Which Windows events back which Sigma log categories, and which Sigma fields each event carries.

Pure Python (no Django). Where each fact comes from:

* Sysmon: pySigma-pipeline-sysmon's `sysmon_generic_logsource_eventid_mapping` (category -> Sysmon
  event ids), merged with the catalog's own taxonomy table (catalog.core.reference.events, e.g. the
  `raw_access_read` alias). Fields: SigmaHQ's tests/logsource.json, vendored as logsource_fields.json
  by scripts/vendor_logsource_fields.py (SigmaHQ's test suite checks every rule against it).
* PowerShell 4103/4104 and classic 400/600/800: pySigma-pipeline-windows'
  `windows_generic_category_channel_mapping`; fields from logsource.json.
* Security 4688 (process_creation) and 4657 (registry_event/_set/_add): pySigma-pipeline-windows'
  `windows_audit_pipeline` (event ids, field renames, and the fields 4657 cannot carry), plus
  pySigma-backend-kusto's Azure Monitor `SecurityEvent` field mapping (User -> SubjectUserName,
  ProcessId -> NewProcessId). A Sigma field is carried when it is, or maps to, a field of the
  event's schema (SECURITY_SCHEMAS, from Microsoft's security auditing reference).
* Security 5156 (network_connection), 4663 (file_event) and 4657 for registry_delete: no pySigma
  pipeline maps these, so the renames are written out here from Microsoft's event schemas (5156:
  Application, SourceAddress, DestAddress...; 4663: ObjectName, ProcessName; 4657 logs value
  deletions as OperationType "Registry value deleted"). The Kusto pipelines' EventID table
  (kusto_common.mappings.EVENTID_CATEGORIES) files 5156 under "network" and 4663 under "file".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from catalog.conversion.targets import registry
from catalog.core.reference import event_tables
from catalog.core.reference import events as reference

FIELDS_FILE = Path(__file__).with_name("logsource_fields.json")

# Microsoft's security auditing reference: the fields of each Security event used here.
SECURITY_SCHEMAS: dict[int, frozenset[str]] = {
    4688: frozenset(
        [
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "NewProcessId",
            "NewProcessName",
            "TokenElevationType",
            "ProcessId",
            "CommandLine",
            "TargetUserSid",
            "TargetUserName",
            "TargetDomainName",
            "TargetLogonId",
            "ParentProcessName",
            "MandatoryLabel",
        ]
    ),
    4657: frozenset(
        [
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "ObjectName",
            "ObjectValueName",
            "HandleId",
            "OperationType",
            "OldValueType",
            "OldValue",
            "NewValueType",
            "NewValue",
            "ProcessId",
            "ProcessName",
        ]
    ),
    5156: frozenset(
        [
            "ProcessID",
            "Application",
            "Direction",
            "SourceAddress",
            "SourcePort",
            "DestAddress",
            "DestPort",
            "Protocol",
            "FilterRTID",
            "LayerName",
            "LayerRTID",
            "RemoteUserID",
            "RemoteMachineID",
        ]
    ),
    4663: frozenset(
        [
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "ObjectServer",
            "ObjectType",
            "ObjectName",
            "HandleId",
            "AccessList",
            "AccessMask",
            "ProcessId",
            "ProcessName",
            "ResourceAttributes",
        ]
    ),
}
# Renames with no pySigma source (see the module docstring), Sigma field -> event field.
HAND_MAPPINGS: dict[int, dict[str, str]] = {
    5156: {
        "Image": "Application",
        "ProcessId": "ProcessID",
        "SourceIp": "SourceAddress",
        "SourcePort": "SourcePort",
        "DestinationIp": "DestAddress",
        "DestinationPort": "DestPort",
        "Protocol": "Protocol",
        "Initiated": "Direction",
    },
    4663: {"TargetFilename": "ObjectName", "Image": "ProcessName"},
    4657: {"Image": "ProcessName", "TargetObject": "ObjectName", "Details": "NewValue"},
}
HAND_CATEGORIES: dict[str, tuple[int, ...]] = {
    "network_connection": (5156,),
    "file_event": (4663,),
    "registry_delete": (4657,),
}


@dataclass(frozen=True)
class Source:
    """An event that can back a log category: `fields` are the Sigma fields it carries (casefolded)."""

    provider: str  # a Sigma service name: sysmon, security, powershell, ...
    event_id: int | None  # None: the whole channel
    fields: frozenset[str] | None  # None: not known, every field counts as carried

    @property
    def token(self) -> str:
        return f"{self.provider}:{'*' if self.event_id is None else self.event_id}"


def provider_slug(provider: str) -> str:
    """The Sigma service name of a catalog provider ("Windows PowerShell" -> "powershell-classic")."""
    return _slugs().get(provider) or provider.lower().replace(" ", "-")


def provider_name(slug: str) -> str:
    """The catalog's provider name of a slug (inverse of provider_slug), or the slug itself."""
    return _names().get(slug, slug)


@cache
def _names() -> dict[str, str]:
    return {service: provider for provider, service in _slugs().items()}


@cache
def _slugs() -> dict[str, str]:
    return {provider: service for service, provider in event_tables.WINDOWS_SERVICES.items()}


@cache
def logsource_fields() -> dict:
    return json.loads(FIELDS_FILE.read_text(encoding="utf-8"))


@cache
def common_fields() -> frozenset[str]:
    """Fields every Windows event carries (EventID, Channel, Computer...): never missing."""
    return frozenset(f.casefold() for f in logsource_fields()["common"])


def category_fields(category: str) -> frozenset[str] | None:
    fields = logsource_fields()["category"].get(category)
    return frozenset(f.casefold() for f in fields) if fields else None


@cache
def _pysigma():
    """pySigma's pipeline modules, imported after its plugin discovery has run.

    pySigma 1.5's autodiscovery files its *test* pipeline under "sysmon" when sigma.pipelines.sysmon
    was imported before the first discovery, so the conversion registry (which discovers) goes first.
    """
    registry()
    from sigma.pipelines.azuremonitor import mappings as azure
    from sigma.pipelines.sysmon import sysmon
    from sigma.pipelines.windows import windows

    return azure, sysmon, windows


@cache
def _security_renames() -> dict[int, dict[str, str]]:
    """Sigma field -> Security event field, per event id, from the pySigma pipelines and HAND_MAPPINGS."""
    azure_mappings, _, windows = _pysigma()
    general = {}
    for item in windows.windows_audit_pipeline().items:
        if item.identifier == "windows_audit_fieldmappings":
            general = dict(item.transformation.mapping)
    azure = azure_mappings.AZURE_MONITOR_FIELD_MAPPINGS.table_mappings["SecurityEvent"]
    renames = {4688: {**azure, **general}}
    renames[4657] = {**general, **HAND_MAPPINGS[4657]}
    renames[5156] = dict(HAND_MAPPINGS[5156])
    renames[4663] = dict(HAND_MAPPINGS[4663])
    return renames


def security_fields(category: str, event_id: int) -> frozenset[str]:
    """The Sigma fields of `category` that Security `event_id` carries (casefolded)."""
    schema = SECURITY_SCHEMAS[event_id]
    renames = _security_renames()[event_id]
    unsupported = set(_pysigma()[2].windows_audit_registry_unsupported_fields) if event_id == 4657 else set()
    names = set(logsource_fields()["category"].get(category, ())) | set(renames)
    return frozenset(
        name.casefold()
        for name in names
        if name not in unsupported and (renames.get(name) in schema or (name in schema and name not in renames))
    )


def _ids(value) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


@cache
def category_sources() -> dict[str, tuple[Source, ...]]:
    """Windows category -> the events that can back it, each with the fields it carries."""
    table: dict[str, list[Source]] = {}

    def add(category: str, provider: str, event_id: int, fields: frozenset[str] | None) -> None:
        sources = table.setdefault(category, [])
        if all((s.provider, s.event_id) != (provider, event_id) for s in sources):
            sources.append(Source(provider, event_id, fields))

    _, sysmon_module, windows = _pysigma()
    sysmon = {c: _ids(v) for c, v in sysmon_module.sysmon_generic_logsource_eventid_mapping.items()}
    for category, (provider, ids) in event_tables.WINDOWS_CATEGORIES.items():
        if provider == "Sysmon":
            sysmon[category] = tuple(dict.fromkeys(sysmon.get(category, ()) + ids))
    for category, ids in sysmon.items():
        for event_id in ids:
            add(category, "sysmon", event_id, category_fields(category))
    for category, info in windows.windows_generic_category_channel_mapping.items():
        add(category, info["service"], info["EventID"], category_fields(category))
    audit = {c: (v["EventID"],) for c, v in windows.generic_logsource_to_windows_audit_event_mapping.items()}
    for category, ids in {**HAND_CATEGORIES, **audit}.items():
        for event_id in ids:
            add(category, "security", event_id, security_fields(category, event_id))
    return {category: tuple(sources) for category, sources in table.items()}


def event_title(slug: str, event_id: int | None) -> str:
    provider = provider_name(slug)
    if event_id is None:
        return f"{provider} (any event)"
    return reference.title_for(provider, event_id)
