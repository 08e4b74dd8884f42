"""Which log source an event comes from: picked by the user, or inferred from its fields.

Rules only run against events of their log source (catalog.matching.compiled), so an event of an
unknown source runs against no rule at all, and the answer says so: a rule made only of negations
(`not filter`) would otherwise fire on any unrelated event.

Inference, first that applies:
1. a Windows event names its channel (`Channel` / `Provider_Name`): product windows, and the
   category or service the catalog's taxonomy gives that channel and event id (catalog.core.taxonomy);
   the rules then chosen are those whose event coverage fits channel and event id, and, for an event
   the taxonomy maps to a category (Security 4688 -> process_creation, 4657 -> registry_*, 5156 ->
   network_connection, 4663 -> file_event), that category's rules, run with the pipelines' renames
   (`mapped`: catalog.matching.mapped);
2. otherwise the field set: `eventSource` + `eventName` is AWS CloudTrail, `CommandLine` / `Image`
   a process creation (Windows, Linux or macOS by the paths), `cs-method` a web server log, ...
   (`FIELD_SIGNS` below, each with the reason shown).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from catalog.core import taxonomy
from catalog.core.reference import event_tables as reference
from catalog.core.taxonomy import mapping

DIMENSIONS = ("product", "category", "service")


@dataclass(frozen=True)
class LogSource:
    product: str = ""
    category: str = ""
    service: str = ""
    reason: str = ""  # how it was found: "picked", "from Channel=..., EventID=...", or why unknown
    picked: bool = False
    mapped: tuple[taxonomy.Source, ...] = ()  # categories the event also backs through a mapping (4688)

    @property
    def known(self) -> bool:
        return bool(self.product or self.category or self.service)

    @property
    def label(self) -> str:
        return " / ".join(part for part in (self.product, self.category, self.service) if part) or "unknown"

    @property
    def shown(self) -> str:
        """As the page shows it: "inferred: windows / process_creation (from Channel=..., EventID=1)"."""
        if self.picked:
            return f"picked: {self.label}"
        if not self.known:
            return f"unknown ({self.reason})"
        also = "".join(f"; also {s.category} through the {s.token} mapping" for s in self.mapped)
        return f"inferred: {self.label} ({self.reason}{also})"

    def as_dict(self) -> dict:
        how = "picked" if self.picked else "inferred" if self.known else "unknown"
        return (
            {"product": self.product, "category": self.category, "service": self.service, "how": how}
            | ({"reason": self.reason} if self.reason else {})
            | ({"mapped": [mapping.describe(source) for source in self.mapped]} if self.mapped else {})
        )

    def admits(self, product: str, category: str, service: str) -> bool:
        """Whether a rule of that log source runs against events of this one: each of product, category
        and service the rule names is the event's (or the event's is unknown), and when the event's
        category or service is known, a rule naming either must share one of them (a Windows
        process_creation event is not checked against `service: security` rules)."""
        if not self.known:
            return False
        for mine, theirs in ((self.product, product), (self.category, category), (self.service, service)):
            if mine and theirs and mine != theirs:
                return False
        if (self.category or self.service) and (category or service):
            return bool((category and category == self.category) or (service and service == self.service))
        return True


def picked(product: str = "", category: str = "", service: str = "") -> LogSource | None:
    """The user's choice (lowercase, trimmed), or None when nothing was picked."""
    source = LogSource(*(str(value or "").strip().lower()[:64] for value in (product, category, service)))
    return LogSource(source.product, source.category, source.service, "picked", True) if source.known else None


@lru_cache(maxsize=4096)
def windows_source(channel: str, provider: str, event_id: int | None) -> LogSource:
    """A Windows event's log source from its channel (or provider) and event id, by the taxonomy: the
    service whose channel it is (catalog.core.taxonomy.channels), the category that service's event backs
    natively, and in `mapped` every category the taxonomy maps that event to (conditions on its values
    not yet checked)."""
    shown = f"Channel={channel}" if channel else f"Provider_Name={provider}"
    reason = f"from {shown}" + (f", EventID={event_id}" if event_id is not None else "")
    if "linux" in f"{channel}|{provider}".lower():  # Sysmon for Linux writes to "Linux-Sysmon/Operational"
        category = next((c for c, (_, ids) in reference.LINUX_CATEGORIES.items() if event_id in ids), "")
        return LogSource("linux", category, "", reason)
    service = taxonomy.service_of(channel, provider)
    if service is None:
        return LogSource("windows", "", "", reason)
    mapped = mapping.candidates(service, event_id) if event_id is not None else ()
    return LogSource("windows", taxonomy.category_of(service, event_id), service, reason, mapped=mapped)


def _path_product(value) -> tuple[str, str]:
    text = str(value or "")
    if "\\" in text or text[1:3] == ":\\" or text[1:2] == ":":
        return "windows", "a Windows path"
    if text.startswith(("/Applications/", "/System/", "/Library/", "/Users/", "/private/")):
        return "macos", "a macOS path"
    if text.startswith("/"):
        return "linux", "a Unix path"
    return "", ""


# (fields that must all be present (lowercase), product, category, service); first match wins.
FIELD_SIGNS: list[tuple[tuple[str, ...], str, str, str]] = [
    (("eventsource", "eventname", "awsregion"), "aws", "", "cloudtrail"),
    (("eventsource", "eventname", "useridentity.type"), "aws", "", "cloudtrail"),
    (("eventtype", "actor.alternateid"), "okta", "", "okta"),
    (("eventtype", "displaymessage"), "okta", "", "okta"),
    (("protopayload.methodname",), "gcp", "", "gcp.audit"),
    (("data.protopayload.methodname",), "gcp", "", "gcp.audit"),
    (("verb", "objectref.resource"), "kubernetes", "", "audit"),
    (("audittype.category",), "bitbucket", "", "audit"),
    (("workload", "operation"), "m365", "", "audit"),
    (("riskeventtype",), "azure", "", "riskdetection"),
    (("activitydisplayname", "loggedbyservice"), "azure", "", "auditlogs"),
    (("operationnamevalue",), "azure", "", "activitylogs"),
    (("resulttype", "appdisplayname"), "azure", "", "signinlogs"),
    (("c-uri",), "", "proxy", ""),
    (("cs-host",), "", "proxy", ""),
    (("cs-uri-query",), "", "webserver", ""),
    (("cs-uri-stem",), "", "webserver", ""),
    (("cs-method",), "", "webserver", ""),
    (("scriptblocktext",), "windows", "ps_script", ""),
    (("imageloaded",), "windows", "image_load", ""),
    (("pipename",), "windows", "pipe_created", ""),
    (("targetimage", "grantedaccess"), "windows", "process_access", ""),
    (("targetimage", "startaddress"), "windows", "create_remote_thread", ""),
    (("targetobject",), "windows", "registry_set", ""),
    (("queryname",), "windows", "dns_query", ""),
    (("commandline",), "", "process_creation", ""),
    (("parentimage",), "", "process_creation", ""),
    (("targetfilename",), "", "file_event", ""),
    (("destinationip", "image"), "", "network_connection", ""),
    (("query", "answer"), "", "dns", ""),
    (("query", "record_type"), "", "dns", ""),
    (("src_ip", "dst_ip"), "", "firewall", ""),
    (("type", "syscall"), "linux", "", "auditd"),
    (("type", "a0"), "linux", "", "auditd"),
]
_PATH_FIELDS = ("image", "targetfilename", "parentimage")


def infer(event: dict, lowered: dict[str, str] | None = None) -> LogSource:
    """The log source of a flat event, with its reason; unknown (empty, with why) when nothing tells."""
    channel, provider = event.get("Channel"), event.get("Provider_Name")
    if channel or provider:
        source = windows_source(str(channel or ""), str(provider or ""), _int(event.get("EventID")))
        if source.mapped:  # only the categories whose conditions the event meets (4657's OperationType)
            source = replace(source, mapped=tuple(s for s in source.mapped if mapping.backs(s, event)))
        return source
    lowered = lowered if lowered is not None else {key.lower(): key for key in event}
    for fields, product, category, service in FIELD_SIGNS:
        if all(field in lowered for field in fields):
            reason = "from the field" + ("s " if len(fields) > 1 else " ") + ", ".join(lowered[f] for f in fields)
            if not product:
                for field in _PATH_FIELDS:
                    if field in lowered:
                        product, why = _path_product(event[lowered[field]])
                        if product:
                            reason += f" and {lowered[field]}, {why}"
                            break
            return LogSource(product, category, service, reason)
    return LogSource(reason="no Channel, and no field set the catalog recognizes: pick the log source")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
