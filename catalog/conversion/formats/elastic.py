"""Elastic detection rules as NDJSON, one rule object a line, as Kibana's rule import takes them."""

from __future__ import annotations

import json

from ..records import ExportRecord
from .base import BulkFormat, Failure

ELASTIC_SEVERITY = {
    "informational": ("low", 1),
    "low": ("low", 21),
    "medium": ("medium", 47),
    "high": ("high", 73),
    "critical": ("critical", 99),
}
ELASTIC_RULE_TYPES = {"lucene": ("query", "lucene"), "eql": ("eql", "eql"), "esql": ("esql", "esql")}
# The backend's own default index patterns for its detection rules (ES|QL names its index in the query).
ELASTIC_INDEX = [
    "apm-*-transaction*",
    "auditbeat-*",
    "endgame-*",
    "filebeat-*",
    "logs-*",
    "packetbeat-*",
    "winlogbeat-*",
]


class ElasticNdjson(BulkFormat):
    id = "ndjson"
    label = "Elastic detection rules (NDJSON)"
    family = "elastic"
    extension = "ndjson"
    default_target = "lucene"
    targets = tuple(ELASTIC_RULE_TYPES)
    content_type = "application/x-ndjson"

    def rule(self, record: ExportRecord, query: str) -> str:
        rule_type, language = ELASTIC_RULE_TYPES.get(self.target, ("query", self.target))
        severity, risk_score = ELASTIC_SEVERITY.get(record.level, ("low", 21))
        data = {
            "rule_id": record.uuid,
            "name": record.title,
            "description": record.description or record.title,
            "risk_score": risk_score,
            "severity": severity,
            "type": rule_type,
            "language": language,
            "query": query,
            **({} if rule_type == "esql" else {"index": ELASTIC_INDEX}),
            "enabled": False,
            "interval": "5m",
            "from": "now-6m",
            "to": "now",
            "max_signals": 100,
            "version": 1,
            "author": [record.author] if record.author else [],
            "license": record.license or "DRL-1.1",
            "references": record.references,
            "false_positives": record.falsepositives,
            "tags": ["Sigma", *record.tags],
            "threat": elastic_threat(record),
            "note": f"Sigma rule {record.uuid} from the Sigma rule catalog: {record.url}",
            "meta": {"sigma_id": record.uuid, "catalog_url": record.url, "converted_by": self.versions},
            "setup": "",
            "exceptions_list": [],
            "actions": [],
            "risk_score_mapping": [],
            "severity_mapping": [],
            "related_integrations": [],
            "required_fields": [],
        }
        return json_line(data)

    def footer(self, exported: int, failures: list[Failure]) -> str:
        # Kibana ends its own rule exports with this summary line, and its import skips it.
        summary = {
            "exported_count": exported,
            "exported_rules_count": exported,
            "missing_rules": [{"rule_id": f.uuid} for f in failures],
            "missing_rules_count": len(failures),
            "sigma_conversion_failures": [{"rule_id": f.uuid, "name": f.title, "errors": f.errors} for f in failures],
        }
        return json_line(summary)


def json_line(data: dict) -> str:
    """One NDJSON line: json.dumps leaves U+0085, U+2028 and U+2029 raw, and readers that split lines the way
    str.splitlines() does would cut the object there, so they are written as escapes (the same string)."""
    text = json.dumps(data, ensure_ascii=False)
    for char in ("\x85", "\u2028", "\u2029"):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text + "\n"


def elastic_threat(record: ExportRecord) -> list[dict]:
    """Elastic's `threat`: one MITRE ATT&CK entry per tactic, techniques with their sub-techniques."""
    threat = []
    for tactic in record.attack:
        if not tactic.attack_id:
            continue
        threat.append(
            {
                "framework": "MITRE ATT&CK",
                "tactic": {
                    "id": tactic.attack_id,
                    "name": tactic.name,
                    "reference": attack_url("tactics", tactic.attack_id),
                },
                "technique": [
                    {
                        "id": technique.technique_id,
                        "name": technique.name or technique.technique_id,
                        "reference": attack_url("techniques", technique.technique_id),
                        "subtechnique": [
                            {
                                "id": sub.technique_id,
                                "name": sub.name or sub.technique_id,
                                "reference": attack_url("techniques", sub.technique_id),
                            }
                            for sub in subs
                        ],
                    }
                    for technique, subs in tactic.techniques
                ],
            }
        )
    return threat


def attack_url(kind: str, attack_id: str) -> str:
    return f"https://attack.mitre.org/{kind}/{attack_id.replace('.', '/')}/"
