"""The conversion targets the catalog knows: the pySigma backend each runs, its label, and its default pipelines.

A default pipeline set is the one that constrains a query to the rule's log source (docs/design.md,
"Conversion defaults"). On SigmaHQ (3,780 rules), the queries that still search every event
(catalog.conversion.constraint) number:
- Splunk: 3,352 with `splunk_windows` alone (it only names a source for rules of a Windows *service*),
  1,121 with `sysmon,splunk_windows` (the generic categories become Sysmon's channel and event id);
- Elastic (Lucene, EQL): 3,366 with `ecs_windows` alone, 1,137 with `sysmon,ecs_windows`; ES|QL 1,047;
- what is left is mostly rules of other products (Linux, cloud, web servers, proxies), which no
  pinned pipeline maps to an index or source type, and Windows PowerShell categories (ps_script,
  ps_module: `windows-logsources` maps them, but it also writes a `Channel` condition on every Windows
  rule, which neither Splunk's `source` nor ECS's `winlog.channel` data carries).
- KQL needs a table: its pipelines fail a rule rather than leave it without one, so none is unconstrained.

Microsoft's data shapes are targets over the one kusto backend, each labelled by the tables its queries
read: `kusto` (Defender XDR's Device* tables, the id kept from before), `sentinel` (those tables, and
SecurityEvent for rules of the Windows Security log, which Defender XDR has no table of: its
DeviceLogonEvents are the sensor's, with other fields, and it converts 13 of SigmaHQ's ~177 Security-log
rules where azure_monitor converts 71), `sentinel_securityevent` (SecurityEvent alone, pySigma's
azure_monitor pipeline) and `sentinel_asim` (the ASIM parsers, imProcessCreate, imFileEvent, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILY_LABELS = {
    "splunk": "Splunk",
    "elastic": "Elastic",
    "sentinel": "Microsoft Sentinel / Defender XDR",
    "other": "Other",
}


@dataclass(frozen=True)
class KnownTarget:
    backend: str  # the pySigma backend id (InstalledSigmaPlugins.backends)
    family: str
    label: str
    default: str  # pipeline ids, comma-separated, in the order pySigma applies them (priority, then id)
    description: str  # what data the queries assume: the page and /api/targets/ show it
    # (log source, pipelines): a rule of that log source is converted with those pipelines instead of the
    # default ones; the answer names the pipelines that made it.
    routes: tuple[tuple[dict, str], ...] = ()


WINDOWS_CHANNELS = (
    "Windows rules search the Sysmon channel and event id of their category, or the event log channel of their "
    "service; rules of other products search every event unless they name a source themselves."
)
KNOWN_TARGETS = {
    "splunk": KnownTarget("splunk", "splunk", "Splunk SPL", "sysmon,splunk_windows", WINDOWS_CHANNELS),
    "lucene": KnownTarget(
        "lucene", "elastic", "Elastic Lucene (Kibana, detection rules)", "sysmon,ecs_windows", WINDOWS_CHANNELS
    ),
    "esql": KnownTarget("esql", "elastic", "Elastic ES|QL", "sysmon,ecs_windows", WINDOWS_CHANNELS),
    "eql": KnownTarget("eql", "elastic", "Elastic EQL", "sysmon,ecs_windows", WINDOWS_CHANNELS),
    "kusto": KnownTarget(
        "kusto",
        "sentinel",
        "Microsoft Defender XDR KQL (Device* tables)",
        "microsoft_xdr",
        "Defender XDR's advanced hunting tables (DeviceProcessEvents, DeviceFileEvents, ...), also in Sentinel "
        "through its Defender XDR connector. A rule whose log source has no such table is not converted.",
    ),
    "sentinel": KnownTarget(
        "kusto",
        "sentinel",
        "Microsoft Sentinel KQL (Defender XDR tables; SecurityEvent for the Security log)",
        "microsoft_xdr",
        "Defender XDR's Device* tables (through Sentinel's Defender XDR connector) for rules of a generic category; "
        "the SecurityEvent table (pySigma's azure_monitor pipeline) for rules of the Windows Security log.",
        routes=(({"product": "windows", "service": "security"}, "azure_monitor"),),
    ),
    "sentinel_securityevent": KnownTarget(
        "kusto",
        "sentinel",
        "Microsoft Sentinel KQL (SecurityEvent)",
        "azure_monitor",
        "The SecurityEvent table of Windows Security events (4688 for process creation), collected by "
        "Sentinel's Windows Security Events connector.",
    ),
    "sentinel_asim": KnownTarget(
        "kusto",
        "sentinel",
        "Microsoft Sentinel KQL (ASIM)",
        "sentinel_asim",
        "Sentinel's ASIM parsers (imProcessCreate, imFileEvent, imRegistry, imNetworkSession, ...), "
        "which normalise every connector that feeds them.",
    ),
}
# In the order pages show them.
DEFAULT_TARGETS = ("splunk", "lucene", "esql", "eql", "kusto", "sentinel", "sentinel_securityevent", "sentinel_asim")
