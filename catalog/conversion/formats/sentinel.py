"""Microsoft Sentinel scheduled analytics rules, as an Azure Resource Manager (ARM) template."""

from __future__ import annotations

import json

from ..records import ExportRecord
from .base import BulkFormat, Failure

SENTINEL_SEVERITY = {"informational": "Informational", "low": "Low", "medium": "Medium", "high": "High"}
# ATT&CK v19's tactics as Sentinel names them (it still files stealth and impairment under DefenseEvasion).
SENTINEL_TACTICS = {
    "reconnaissance": "Reconnaissance",
    "resource-development": "ResourceDevelopment",
    "initial-access": "InitialAccess",
    "execution": "Execution",
    "persistence": "Persistence",
    "privilege-escalation": "PrivilegeEscalation",
    "stealth": "DefenseEvasion",
    "defense-impairment": "DefenseEvasion",
    "defense-evasion": "DefenseEvasion",
    "credential-access": "CredentialAccess",
    "discovery": "Discovery",
    "lateral-movement": "LateralMovement",
    "collection": "Collection",
    "command-and-control": "CommandAndControl",
    "exfiltration": "Exfiltration",
    "impact": "Impact",
}
SENTINEL_MAX_QUERY = 10_000  # characters: Sentinel refuses longer analytics rule queries


class SentinelArm(BulkFormat):
    id = "arm"
    label = "Microsoft Sentinel analytics rules (ARM template)"
    family = "sentinel"
    extension = "json"
    # Every KQL target: Sentinel reads Defender XDR's tables (through its connector), SecurityEvent and ASIM
    # alike; the default picks, per log source, a table Sentinel has (catalog.conversion.known).
    default_target = "sentinel"
    targets = ("sentinel", "kusto", "sentinel_securityevent", "sentinel_asim")
    content_type = "application/json"

    def __init__(self, target: str, versions: str):
        super().__init__(target, versions)
        self.count = 0

    def header(self) -> str:
        return (
            '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
            ' "contentVersion": "1.0.0.0",\n'
            ' "parameters": {"workspace": {"type": "String"}},\n'
            ' "resources": [\n'
        )

    def check(self, record: ExportRecord, queries: list[str]) -> str:
        problem = super().check(record, queries)
        if not problem and len(queries[0]) > SENTINEL_MAX_QUERY:
            problem = f"the query has {len(queries[0])} characters; Sentinel takes at most {SENTINEL_MAX_QUERY}"
        return problem

    def rule(self, record: ExportRecord, query: str) -> str:
        tactics = sorted({SENTINEL_TACTICS[t.shortname] for t in record.attack if t.shortname in SENTINEL_TACTICS})
        techniques = sorted({tid.split(".")[0] for tid in record.technique_ids if tid.startswith("T")})
        resource = {
            "id": "[concat(resourceId('Microsoft.OperationalInsights/workspaces/providers', parameters('workspace'),"
            f" 'Microsoft.SecurityInsights'), '/alertRules/{record.uuid}')]",
            "name": f"[concat(parameters('workspace'), '/Microsoft.SecurityInsights/{record.uuid}')]",
            "type": "Microsoft.OperationalInsights/workspaces/providers/alertRules",
            "kind": "Scheduled",
            "apiVersion": "2023-02-01",
            "properties": {
                "displayName": record.title[:256],
                "description": f"{record.description or record.title}\n\nSigma rule {record.uuid}: {record.url}"[:5000],
                "severity": SENTINEL_SEVERITY.get(record.level, "High" if record.level == "critical" else "Medium"),
                "enabled": False,
                "query": query,
                "queryFrequency": "PT1H",
                "queryPeriod": "PT1H",
                "triggerOperator": "GreaterThan",
                "triggerThreshold": 0,
                "suppressionDuration": "PT5H",
                "suppressionEnabled": False,
                "tactics": tactics,
                "techniques": techniques,
                "alertDetailsOverride": None,
                "customDetails": None,
                "eventGroupingSettings": {"aggregationKind": "SingleAlert"},
            },
        }
        # Only the two expressions above are ARM's to evaluate: every value taken from a rule is a literal.
        resource["properties"] = arm_literals(resource["properties"])
        separator = ",\n" if self.count else ""
        self.count += 1
        return separator + "  " + arm_json(resource)

    def footer(self, exported: int, failures: list[Failure]) -> str:
        metadata = {
            "sigmaCatalog": {
                "exported": exported,
                "queriesFor": self.target_label(),
                "convertedBy": self.versions,
                "notExported": [{"id": f.uuid, "title": f.title, "errors": f.errors} for f in failures],
            }
        }
        return '\n ],\n "metadata": ' + arm_json(arm_literals(metadata)) + "\n}\n"


def arm_literals(value):
    """`value` with every string ARM would evaluate as a template expression (one that starts with `[` and
    ends with `]`) escaped as ARM documents it: a leading `[[` makes it the literal text. Applied after any
    truncation, so a cut can neither drop the escape nor make a new expression."""
    if isinstance(value, str):
        return "[" + value if value.startswith("[") and value.endswith("]") else value
    if isinstance(value, dict):
        return {key: arm_literals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [arm_literals(item) for item in value]
    return value


def arm_json(value) -> str:
    # U+2028 and U+2029 are valid in a JSON string but end a line for JavaScript and str.splitlines().
    return json.dumps(value, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
