"""Splunk savedsearches.conf: one stanza per rule; Enterprise Security's correlation-search keys carry the
label and the ATT&CK annotations."""

from __future__ import annotations

import json

from ..records import ExportRecord
from .base import BulkFormat, Failure, comment_report, conf_line

SPLUNK_SEVERITY = {"informational": 2, "low": 3, "medium": 4, "high": 5, "critical": 6}


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
