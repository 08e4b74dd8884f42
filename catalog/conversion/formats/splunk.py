"""Splunk savedsearches.conf: one stanza per rule; Enterprise Security's correlation-search keys carry the
label and the ATT&CK annotations."""

from __future__ import annotations

import json

from ..records import ExportRecord
from .base import LINE_BREAKS, BulkFormat, Failure, comment_report, conf_line

SPLUNK_SEVERITY = {"informational": 2, "low": 3, "medium": 4, "high": 5, "critical": 6}
# Stanza names Splunk gives a meaning of their own: [default] applies its keys to every search of the app.
RESERVED_STANZAS = {"default", "general"}


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
        if problem:
            return problem
        # Only "\n" separates the query's lines (each continued with a backslash); any other line break in it
        # is part of a literal, which a .conf reader could take for the end of the value: not exported.
        if found := LINE_BREAKS.search(queries[0]):
            return (
                f"the query holds the character U+{ord(found.group()):04X}, which a .conf reader may take for a "
                "line break; convert this rule on its own"
            )
        if any(line.endswith("\\") for line in queries[0].split("\n")):
            return "a line of the query ends with a backslash, which savedsearches.conf reads as a continuation"
        return ""

    def header(self) -> str:
        return (
            "# Sigma rules from the Sigma rule catalog as Splunk saved searches (disabled: enable what fits).\n"
            f"# Converted by {self.versions}.\n\n"
        )

    def rule(self, record: ExportRecord, query: str) -> str:
        stanza = self.stanza_name(record)
        description = conf_line(record.description or record.title)
        level = conf_line(record.level) or "none"
        annotations = {"mitre_attack": record.technique_ids} if record.technique_ids else {}
        lines = [
            f"[{stanza}]",
            "action.correlationsearch.enabled = 1",
            f"action.correlationsearch.label = {conf_line(record.title)}",
            f"action.correlationsearch.annotations = {json.dumps(annotations)}",
            f"alert.severity = {SPLUNK_SEVERITY.get(record.level, 3)}",
            "cron_schedule = */15 * * * *",
            f"description = {description} (Sigma rule {record.uuid}, level {level}: {conf_line(record.url)})",
            "dispatch.earliest_time = -15m",
            "dispatch.latest_time = now",
            "enableSched = 0",
            # A trailing backslash continues the value; `check` let through no other line break.
            "search = " + "\\\n".join(query.split("\n")),
        ]
        return "\n".join(lines) + "\n\n"

    def stanza_name(self, record: ExportRecord) -> str:
        """The rule's title on one line, brackets made parentheses; never a reserved name, never one used
        before in this file (Splunk merges stanzas of the same name), compared without case."""
        stanza = conf_line(record.title).replace("[", "(").replace("]", ")") or record.uuid
        if stanza.lower() in RESERVED_STANZAS:
            stanza = f"{stanza} ({record.uuid})"
        while stanza.lower() in self.stanzas:
            stanza = f"{stanza} ({record.uuid})"
        self.stanzas.add(stanza.lower())
        return stanza

    def footer(self, exported: int, failures: list[Failure]) -> str:
        return comment_report(exported, failures)
