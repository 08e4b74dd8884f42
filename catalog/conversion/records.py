"""What a bulk export says about each rule besides its query, read once from the stored rule.

Curation applies: the level is the curator's override when there is one, tags are the effective
tags (Sigma's plus local, minus removed); hidden rules never get here (the export reads public
rules only). Each SIEM format maps these fields onto its own (catalog.conversion.formats).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.core.reference.attack import AttackEntry, Technique, load

# Rule fields a bulk export reads (besides tactics and techniques, prefetched).
EXPORT_FIELDS = (
    "pk",
    "uuid",
    "title",
    "name",
    "rule_type",
    "status",
    "level",
    "level_override",
    "description",
    "author",
    "license",
    "references",
    "falsepositives",
    "tags",
    "local_tags_added",
    "local_tags_removed",
    "path",
    "yaml_text",
    "content_hash",
    "correlation",
    "date",
    "modified",
    "product",
    "category",
    "service",
)


@dataclass
class TacticMapping:
    """One tactic with the rule's techniques under it, sub-techniques grouped under their parent."""

    attack_id: str
    shortname: str
    name: str
    techniques: list[tuple[Technique, list[Technique]]] = field(default_factory=list)


@dataclass
class ExportRecord:
    uuid: str
    title: str
    description: str
    level: str  # effective: the curator's override, else the rule's; '' when neither says
    status: str
    author: str
    license: str
    references: list[str]
    falsepositives: list[str]
    tags: list[str]
    url: str  # the rule's page in the catalog
    attack: list[TacticMapping]
    technique_ids: list[str]  # every tagged technique id, sub-techniques included, sorted
    logsource: str

    @classmethod
    def from_rule(cls, rule, url: str) -> ExportRecord:
        entries = rule.attack_table()
        return cls(
            uuid=str(rule.uuid),
            title=rule.title,
            description=rule.description,
            level=rule.effective_level or "",
            status=rule.status,
            author=rule.author,
            license=rule.license,
            references=[str(r) for r in rule.references or []],
            falsepositives=[str(f) for f in rule.falsepositives or []],
            tags=list(rule.effective_tags),
            url=url,
            attack=tactic_mappings(entries),
            technique_ids=sorted({e.technique.technique_id for e in entries if e.technique is not None}),
            logsource=" / ".join(part for part in (rule.product, rule.category, rule.service) if part),
        )


def tactic_mappings(entries: list[AttackEntry]) -> list[TacticMapping]:
    """The ATT&CK table as tactic -> techniques -> sub-techniques (the shape Elastic's `threat` takes)."""
    data = load()
    mappings: dict[str, TacticMapping] = {}
    for entry in entries:
        if entry.tactic is None:
            continue  # a technique ATT&CK does not know, under no tactic: kept in technique_ids only
        tactic = mappings.setdefault(
            entry.tactic.shortname, TacticMapping(entry.tactic.attack_id, entry.tactic.shortname, entry.tactic.name)
        )
        technique = entry.technique
        if technique is None:
            continue
        parent = data.technique(technique.parent_id)
        for existing, subs in tactic.techniques:
            if existing.technique_id == parent.technique_id:
                if technique is not parent and technique not in subs:
                    subs.append(technique)
                break
        else:
            tactic.techniques.append((parent, [technique] if technique.technique_id != parent.technique_id else []))
    return list(mappings.values())
