"""What the taxonomy reads from pySigma's pipelines and from SigmaHQ's logsource.json.

* `plugins()`: pySigma's installed backends and pipelines, discovered before any pipeline module is
  imported here: pySigma 1.5 files its *test* pipeline under "sysmon" when sigma.pipelines.sysmon was
  imported before the process's first discovery (a later discovery is not misled), so `modules()` imports
  the pipeline modules only after it. The conversion registry (catalog.conversion.targets) discovers on
  its own, before or after.
* pySigma-pipeline-sysmon's `sysmon_generic_logsource_eventid_mapping` (category -> Sysmon event ids),
  pySigma-pipeline-windows' `windows_generic_category_channel_mapping` (PowerShell categories ->
  channel and event id) and `windows_audit_pipeline` (categories -> Security events, the conditions it
  adds, the field renames, the fields 4657 cannot carry), pySigma's `windows_logsource_mapping` (service
  -> channel), and pySigma-backend-kusto's Azure Monitor `SecurityEvent` field mapping (User ->
  SubjectUserName, ProcessId -> NewProcessId, ...).
* SigmaHQ's tests/logsource.json (the fields each Windows category carries), vendored beside this
  module as logsource_fields.json by scripts/vendor_logsource_fields.py.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from sigma.plugins import InstalledSigmaPlugins

FIELDS_FILE = Path(__file__).with_name("logsource_fields.json")


@cache
def plugins() -> InstalledSigmaPlugins:
    """pySigma's installed backends and pipelines (validators left out), discovered once per process."""
    return InstalledSigmaPlugins.autodiscover(include_validators=False)


@cache
def modules():
    """pySigma's Azure Monitor mappings, Sysmon and Windows pipeline modules, imported after discovery."""
    plugins()
    from sigma.pipelines.azuremonitor import mappings as azure
    from sigma.pipelines.sysmon import sysmon
    from sigma.pipelines.windows import windows

    return azure, sysmon, windows


@cache
def windows_channels() -> dict[str, str | list[str]]:
    """Windows service -> its channel or channels, as pySigma's Windows pipelines write them
    (sigma.pipelines.common.windows_logsource_mapping)."""
    plugins()
    from sigma.pipelines.common import windows_logsource_mapping

    return dict(windows_logsource_mapping)


def _ids(value) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


@cache
def sysmon_categories() -> dict[str, tuple[int, ...]]:
    """Category -> the Sysmon event ids that back it (pySigma-pipeline-sysmon)."""
    return {c: _ids(v) for c, v in modules()[1].sysmon_generic_logsource_eventid_mapping.items()}


@cache
def channel_categories() -> dict[str, tuple[str, int]]:
    """Category -> (Windows service, event id) of the channel that backs it (ps_script -> powershell 4104)."""
    mapping = modules()[2].windows_generic_category_channel_mapping
    return {category: (info["service"], info["EventID"]) for category, info in mapping.items()}


@cache
def audit_categories() -> dict[str, tuple[int, tuple[tuple[str, tuple[str, ...]], ...]]]:
    """Category -> (Security event id, the conditions the audit pipeline adds besides EventID), e.g.
    registry_set -> (4657, (("OperationType", ("Existing registry value modified",)),))."""
    table = {}
    for category, conditions in modules()[2].generic_logsource_to_windows_audit_event_mapping.items():
        extra = tuple(
            (name, tuple(str(v) for v in _ids(value))) for name, value in conditions.items() if name != "EventID"
        )
        table[category] = (int(conditions["EventID"]), extra)
    return table


@cache
def audit_renames() -> dict[str, dict[str, str]]:
    """The audit pipeline's field renames (Sigma field -> Security event field): "general" for every
    Security event, "registry" for 4657 (applied first: Image -> ProcessName, not NewProcessName)."""
    windows = modules()[2]
    found = {"general": {}, "registry": dict(windows.windows_audit_registry_fieldmappings)}
    for item in windows.windows_audit_pipeline().items:
        if item.identifier == "windows_audit_fieldmappings":
            found["general"] = dict(item.transformation.mapping)
    return found


def registry_unsupported() -> frozenset[str]:
    """Sigma fields the audit pipeline refuses on 4657 (no counterpart in the event)."""
    return frozenset(modules()[2].windows_audit_registry_unsupported_fields)


def azure_security_renames() -> dict[str, str]:
    """Azure Monitor's SecurityEvent field mapping (Sigma field -> Security event field)."""
    return dict(modules()[0].AZURE_MONITOR_FIELD_MAPPINGS.table_mappings["SecurityEvent"])


@cache
def logsource_fields() -> dict:
    return json.loads(FIELDS_FILE.read_text(encoding="utf-8"))


@cache
def common_fields() -> frozenset[str]:
    """Fields every Windows event carries (EventID, Channel, Computer...), casefolded: never missing."""
    return frozenset(f.casefold() for f in logsource_fields()["common"])


@cache
def category_fields(category: str) -> frozenset[str] | None:
    """The Sigma fields of a Windows category (casefolded), None when logsource.json lists none."""
    fields = logsource_fields()["category"].get(category)
    return frozenset(f.casefold() for f in fields) if fields else None


def category_field_names(category: str) -> tuple[str, ...]:
    """The same, as spelled."""
    return tuple(logsource_fields()["category"].get(category, ()))
