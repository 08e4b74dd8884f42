"""The bulk export formats: each SIEM's own import file, written one rule at a time.

- `savedsearches`: Splunk's savedsearches.conf, one stanza per rule (Splunk Enterprise Security's
  correlation-search keys carry the label and the ATT&CK annotations);
- `ndjson`: Elastic detection rules, one JSON object a line, as Kibana's rule import takes them;
- `arm`: an Azure Resource Manager template of Microsoft Sentinel scheduled analytics rules.
Every exported rule keeps its title, description, level (the curator's override when set), ATT&CK
mapping, catalog URL and Sigma id in the fields its product expects. Rules are exported disabled:
an analyst enables what fits their data. A rule its format cannot carry (several queries, a query
over Sentinel's length limit) is a failure, listed in the file's closing report like conversion errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .records import ExportRecord
from .targets import UnknownChoice

SPLUNK_SEVERITY = {"informational": 2, "low": 3, "medium": 4, "high": 5, "critical": 6}
ELASTIC_SEVERITY = {
    "informational": ("low", 1),
    "low": ("low", 21),
    "medium": ("medium", 47),
    "high": ("high", 73),
    "critical": ("critical", 99),
}
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


@dataclass
class Failure:
    uuid: str
    title: str
    errors: list[str]

    def line(self) -> str:
        return f"{self.uuid} {self.title}: {'; '.join(self.errors)}"


class BulkFormat:
    id = ""
    label = ""
    family = ""  # the targets' family it takes
    targets: tuple[str, ...] = ()  # the targets it takes (empty: any)
    extension = ""
    content_type = "text/plain; charset=utf-8"
    default_target = ""

    def __init__(self, target: str, versions: str):
        self.target, self.versions = target, versions

    def header(self) -> str:
        return ""

    def check(self, record: ExportRecord, queries: list[str]) -> str:
        """Why this format cannot carry the rule ('' when it can)."""
        return "" if len(queries) == 1 else f"converts to {len(queries)} queries; this format takes one per rule"

    def rule(self, record: ExportRecord, query: str) -> str:
        raise NotImplementedError

    def footer(self, exported: int, failures: list[Failure]) -> str:
        return ""


class SplunkSavedSearches(BulkFormat):
    id = "savedsearches"
    label = "Splunk savedsearches.conf"
    family = "splunk"
    extension = "conf"
    default_target = "splunk"
    targets = ("splunk",)

    def __init__(self, target: str, versions: str):
        super().__init__(target, versions)
        self.stanzas: set[str] = set()

    def check(self, record: ExportRecord, queries: list[str]) -> str:
        problem = super().check(record, queries)
        if not problem and any(line.endswith("\\") for line in queries[0].splitlines()):
            problem = "a line of the query ends with a backslash, which savedsearches.conf reads as a continuation"
        return problem

    def header(self) -> str:
        return (
            "# Sigma rules from the Sigma rule catalog as Splunk saved searches (disabled: enable what fits).\n"
            f"# Converted by {self.versions}.\n\n"
        )

    def rule(self, record: ExportRecord, query: str) -> str:
        stanza = conf_line(record.title).replace("[", "(").replace("]", ")").strip() or record.uuid
        if stanza.lower() in self.stanzas:  # Splunk merges stanzas of the same name: keep each rule apart
            stanza = f"{stanza} ({record.uuid})"
        self.stanzas.add(stanza.lower())
        description = conf_line(record.description or record.title)
        annotations = {"mitre_attack": record.technique_ids} if record.technique_ids else {}
        lines = [
            f"[{stanza}]",
            "action.correlationsearch.enabled = 1",
            f"action.correlationsearch.label = {conf_line(record.title)}",
            f"action.correlationsearch.annotations = {json.dumps(annotations)}",
            f"alert.severity = {SPLUNK_SEVERITY.get(record.level, 3)}",
            "cron_schedule = */15 * * * *",
            f"description = {description} (Sigma rule {record.uuid}, level {record.level or 'none'}: {record.url})",
            "dispatch.earliest_time = -15m",
            "dispatch.latest_time = now",
            "enableSched = 0",
            "search = " + "\\\n".join(query.splitlines()),  # a trailing backslash continues the value
        ]
        return "\n".join(lines) + "\n\n"

    def footer(self, exported: int, failures: list[Failure]) -> str:
        return comment_report(exported, failures)


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
        return json.dumps(data, ensure_ascii=False) + "\n"

    def footer(self, exported: int, failures: list[Failure]) -> str:
        # Kibana ends its own rule exports with this summary line, and its import skips it.
        summary = {
            "exported_count": exported,
            "exported_rules_count": exported,
            "missing_rules": [{"rule_id": f.uuid} for f in failures],
            "missing_rules_count": len(failures),
            "sigma_conversion_failures": [{"rule_id": f.uuid, "name": f.title, "errors": f.errors} for f in failures],
        }
        return json.dumps(summary, ensure_ascii=False) + "\n"


class SentinelArm(BulkFormat):
    id = "arm"
    label = "Microsoft Sentinel analytics rules (ARM template)"
    family = "sentinel"
    extension = "json"
    default_target = "kusto"
    targets = ("kusto",)
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
        separator = ",\n" if self.count else ""
        self.count += 1
        return separator + "  " + json.dumps(resource, ensure_ascii=False)

    def footer(self, exported: int, failures: list[Failure]) -> str:
        metadata = {
            "sigmaCatalog": {
                "exported": exported,
                "convertedBy": self.versions,
                "notExported": [{"id": f.uuid, "title": f.title, "errors": f.errors} for f in failures],
            }
        }
        return '\n ],\n "metadata": ' + json.dumps(metadata, ensure_ascii=False) + "\n}\n"


class PlainQueries(BulkFormat):
    """Any other target: each query under a comment naming its rule (for backends without a rule format)."""

    id = "text"
    label = "Queries, one block per rule"
    extension = "txt"

    def rule(self, record: ExportRecord, query: str) -> str:
        return f"# {conf_line(record.title)} ({record.uuid}, level {record.level or 'none'}): {record.url}\n{query}\n\n"

    def footer(self, exported: int, failures: list[Failure]) -> str:
        return comment_report(exported, failures)


FORMATS: dict[str, type[BulkFormat]] = {
    f.id: f for f in (SplunkSavedSearches, ElasticNdjson, SentinelArm, PlainQueries)
}


def bulk_format(target: str, asked: str | None) -> type[BulkFormat]:
    """The export format for a target: the one asked for if it takes the target, else its family's own."""
    if asked:
        chosen = FORMATS.get(asked)
        if chosen is None:
            raise UnknownChoice(f"Unknown export format {asked!r}; choose one of: {', '.join(FORMATS)}.")
        if chosen.targets and target not in chosen.targets:
            raise UnknownChoice(f"The {asked} format takes the targets {', '.join(chosen.targets)}, not {target!r}.")
        return chosen
    return next((f for f in FORMATS.values() if target in f.targets), PlainQueries)


def comment_report(exported: int, failures: list[Failure]) -> str:
    text = f"# {exported} rules exported, {len(failures)} could not be converted.\n"
    return text + "".join(f"# not exported: {conf_line(f.line())}\n" for f in failures)


def conf_line(text: str) -> str:
    """A value on one line of a .conf file: line breaks become spaces, no trailing continuation backslash."""
    return " ".join(str(text).split()).rstrip("\\")


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
