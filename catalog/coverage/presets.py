"""Well-known telemetry profiles offered as one-click presets on /coverage/.

Each preset is a set of Windows events, written as the event ids it enables, never as a vendored
configuration file. A preset is only a shortcut to a profile URL (`?events=...`): the page and its
JSON twin read it like any hand-written profile, and the form shows it ticked.

Sysmon configurations are described by the filter each event type gets (catalog.coverage.sysmon_config
reads a real file the same way: an `exclude` filter or an `include` with conditions logs the type, an
empty `include` or a missing / commented-out type logs nothing; events 4, 16 and 255 always log):

* SwiftOnSecurity sysmon-config, sysmonconfig-export.xml (source version 74): exclude filters on
  ProcessCreate, DriverLoad, CreateRemoteThread, WmiEvent (no rules: everything) and DnsQuery; include
  rules on FileCreateTime, NetworkConnect, ProcessTerminate, FileCreate, RegistryEvent,
  FileCreateStreamHash and PipeEvent; ImageLoad, RawAccessRead and ProcessAccess are empty includes
  ("Using include with no rules means nothing in this section will be logged"); FileDelete,
  ClipboardChange and ProcessTampering are commented out; FileDeleteDetected has no rule group.
* olafhartong sysmon-modular, the default sysmonconfig.xml (every module folder merged): modules with
  include rules or exclusions for every event type but RawAccessRead (9_raw_access_read holds only an
  empty include, "disabled by default"), ClipboardChange and the blocking events 27/28 (no module).

Windows audit policy, as Security event ids per audit subcategory (Microsoft, "Advanced security audit
policy settings", the event list of each subcategory's page), for two columns of Microsoft's table in
"Audit Policy Recommendations" (learn.microsoft.com/windows-server/identity/ad-ds/plan/security-best-
practices/audit-policy-recommendations), Windows 10 / Server 2016 and later:

* "Windows default": the subcategories audited out of the box (also what `auditpol /get /category:*`
  shows on a fresh install), plus 1102 (the Security log cleared), which the event log service writes
  whatever the policy.
* "Baseline recommendation": the default plus Credential Validation, Computer Account Management,
  Other Account Management Events, Process Creation, Security System Extension and IPsec Driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.urls import reverse

from catalog.coverage.profile import Profile, with_events
from catalog.coverage.sysmon_config import SYSMON_ALWAYS, SYSMON_ELEMENTS

LOGS, NOTHING = "logs", "nothing"  # a Sysmon event type's filter: it logs (some of) its events, or none

SWIFTONSECURITY = {
    **dict.fromkeys(
        ["ProcessCreate", "FileCreateTime", "NetworkConnect", "ProcessTerminate", "DriverLoad", "CreateRemoteThread"],
        LOGS,
    ),
    **dict.fromkeys(["FileCreate", "RegistryEvent", "FileCreateStreamHash", "PipeEvent", "WmiEvent", "DnsQuery"], LOGS),
    **dict.fromkeys(["ImageLoad", "RawAccessRead", "ProcessAccess"], NOTHING),
}
SYSMON_MODULAR = {
    **dict.fromkeys(SYSMON_ELEMENTS, LOGS),
    **dict.fromkeys(["RawAccessRead", "ClipboardChange", "FileBlockExecutable", "FileBlockShredding"], NOTHING),
}

# Audit subcategory -> the Security events it writes.
SUBCATEGORIES = {
    "Logon": (4624, 4625, 4648, 4675),
    "Logoff": (4634, 4647),
    "Account Lockout": (4625,),
    "Special Logon": (4672, 4964),
    "User Account Management": (
        *(4720, 4722, 4723, 4724, 4725, 4726, 4738, 4740, 4765, 4766, 4767),
        *(4780, 4781, 4794, 4798, 5376, 5377),
    ),
    "Security Group Management": (
        *(4727, 4728, 4729, 4730, 4731, 4732, 4733, 4734, 4735, 4737),
        *(4754, 4755, 4756, 4757, 4758, 4764, 4799),
    ),
    "Security State Change": (4608, 4616, 4621),
    "System Integrity": (4612, 4615, 4618, 4816, 5038, 5056, 5057, 5060, 5061, 5062, 6281, 6410),
    "Other System Events": (5024, 5025, 5027, 5028, 5029, 5030, 5032, 5033, 5034, 5035, 5037, 5058, 5059),
    "Audit Policy Change": (4715, 4719, 4817, 4902, 4904, 4905, 4906, 4907, 4908, 4912),
    "Authentication Policy Change": (4670, 4706, 4707, 4713, 4716, 4717, 4718, 4739, 4864, 4865, 4866, 4867),
    "Credential Validation": (4774, 4775, 4776, 4777),
    "Computer Account Management": (4741, 4742, 4743),
    "Other Account Management Events": (4782, 4793),
    "Process Creation": (4688, 4696),
    "Security System Extension": (4610, 4611, 4614, 4622, 4697),
    "IPsec Driver": (4960, 4961, 4962, 4963, 4965, 5478, 5479, 5480, 5483, 5484, 5485),
}
WINDOWS_DEFAULT = (
    *("Logon", "Logoff", "Account Lockout", "Special Logon", "User Account Management"),
    *("Security Group Management", "Security State Change", "System Integrity", "Other System Events"),
    *("Audit Policy Change", "Authentication Policy Change"),
)
BASELINE = (
    *WINDOWS_DEFAULT,
    *("Credential Validation", "Computer Account Management", "Other Account Management Events"),
    *("Process Creation", "Security System Extension", "IPsec Driver"),
)
ALWAYS_LOGGED = (1102,)  # "The audit log was cleared": the event log service, not the audit policy


def sysmon_ids(filters: dict[str, str]) -> tuple[int, ...]:
    """The Sysmon events a configuration of these filters logs (as catalog.coverage.sysmon_config reads one)."""
    ids = {i for element, mode in filters.items() if mode == LOGS for i in SYSMON_ELEMENTS[element]}
    return tuple(sorted(ids | set(SYSMON_ALWAYS)))


def security_ids(subcategories) -> tuple[int, ...]:
    return tuple(sorted({i for name in subcategories for i in SUBCATEGORIES[name]} | set(ALWAYS_LOGGED)))


@dataclass(frozen=True)
class Preset:
    slug: str
    name: str
    description: str
    events: tuple[tuple[str, int | None], ...]

    @cached_property
    def profile(self) -> Profile:
        return Profile(frozenset(self.events))

    @property
    def summary(self) -> str:
        """ "Sysmon 1, 2, 3 ... (19 events)": what the preset collects, by provider."""
        by_provider: dict[str, list[str]] = {}
        for provider, event_id in sorted(self.events, key=lambda e: (e[0], e[1] if e[1] is not None else -1)):
            by_provider.setdefault(provider, []).append("every event" if event_id is None else str(event_id))
        return "; ".join(f"{provider} {', '.join(ids)}" for provider, ids in by_provider.items())


def _events(provider: str, ids) -> tuple[tuple[str, int], ...]:
    return tuple((provider, i) for i in ids)


PRESETS = (
    Preset(
        "swiftonsecurity",
        "SwiftOnSecurity sysmon-config",
        "sysmonconfig-export.xml: no image loads (7), raw disk reads (9) or process access (10)",
        _events("sysmon", sysmon_ids(SWIFTONSECURITY)),
    ),
    Preset(
        "sysmon-modular",
        "sysmon-modular (default)",
        "olafhartong's merged sysmonconfig.xml: every event type but raw disk reads (9), clipboard (24) and blocking",
        _events("sysmon", sysmon_ids(SYSMON_MODULAR)),
    ),
    Preset("sysmon-all", "Everything Sysmon", "the whole Sysmon channel", (("sysmon", None),)),
    Preset(
        "windows-default",
        "Windows default audit policy",
        "Security events a fresh Windows 10/11 or Server writes: logons, account and group changes, policy changes",
        _events("security", security_ids(WINDOWS_DEFAULT)),
    ),
    Preset(
        "audit-baseline",
        "Microsoft audit baseline",
        "the default plus credential validation, process creation (4688) and security system extensions",
        _events("security", security_ids(BASELINE)),
    ),
)


def preset_links(profile: Profile | None) -> list[dict]:
    """Each preset with the URL that collects it, the URL that adds it to `profile`, and whether it is `profile`."""
    page = reverse("coverage:page")
    rows = []
    for preset in PRESETS:
        row = {"preset": preset, "url": page + "?" + preset.profile.query(), "current": False}
        if profile:
            both = with_events(profile, preset.profile.events)
            row["current"] = profile.events == preset.profile.events and not profile.logsources
            row["add_url"] = "" if both == profile else page + "?" + both.query()
        rows.append(row)
    return rows


def named(profile: Profile) -> list[Preset]:
    """The presets whose events together are exactly the profile's events (e.g. a Sysmon configuration and an
    audit policy), to name the profile on the page."""
    inside = [p for p in PRESETS if p.profile.events <= profile.events]
    inside = [p for p in inside if not any(p.profile.events < other.profile.events for other in inside)]
    covered = frozenset().union(*(p.profile.events for p in inside)) if inside else frozenset()
    return inside if inside and covered == profile.events and not profile.logsources else []
