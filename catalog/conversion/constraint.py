"""Whether a converted query searches every event: no condition narrows it to a log source.

A SIEM runs such a query over all its data, so it is slow and matches events of log sources the rule never
meant (an `Image` ending in `\\net.exe` is a process in Sysmon, but a file in a proxy log). Judged per family,
on what the query itself holds, after pySigma's pipelines ran (the rule objects they changed in place):

- Splunk: a condition on `source`, `sourcetype`, `index`, `EventCode`, `EventID` or `Channel` that every
  match must satisfy, or a `| tstats ... from datamodel=` search (the `data_model` format);
- Elastic (Lucene, EQL, ES|QL): a condition on `winlog.channel`, `event.code`, `winlog.event_id`,
  `event.category`, `event.dataset`, `event.module`, `data_stream.dataset` or `_index` that every match must
  satisfy; for ES|QL also an index narrower than `*`, for EQL an event category other than `any`;
- KQL (Sentinel, Defender XDR): a table, or an ASIM parser, the query starts from. SecurityEvent counts, as
  Splunk's `source=WinEventLog:Security` does: it holds one log.
- Other backends: not judged (None).

"Every match must satisfy" means the condition is reached from the query's root through `and` only (an `or`
counts when each of its branches constrains); a condition under a `not`, on a null value or on `*` constrains
nothing. A rule's own `EventID` or `Channel` in its detection counts like one a pipeline added.
"""

from __future__ import annotations

import re

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.rule import SigmaRule
from sigma.types import SigmaNumber, SigmaString

SPLUNK_FIELDS = frozenset({"source", "sourcetype", "index", "EventCode", "EventID", "Channel"})
ELASTIC_FIELDS = frozenset(
    {
        "winlog.channel",
        "event.code",
        "winlog.event_id",
        "event.category",
        "event.dataset",
        "event.module",
        "data_stream.dataset",
        "_index",
    }
)
ESQL_INDEX = re.compile(r'(?:^|")from\s+(.+?)\s+(?:metadata\b|\|)', re.I | re.M)  # also in kibana_ndjson's JSON
EQL_CATEGORY = re.compile(r"^\s*([A-Za-z_][\w]*)\s+where\b", re.M)
KQL_TABLE = re.compile(r"^[A-Za-z_][\w]*(\(\))?\s*\n\s*\|")


def unconstrained(family: str, backend_id: str, output_format: str, rules: list, queries: list[str]) -> bool | None:
    """True when some query of a conversion searches every event; None for a family this does not judge."""
    if not queries:
        return None
    if family == "sentinel":
        return not all(KQL_TABLE.match(query) for query in queries)
    if family == "splunk":
        if output_format == "data_model":
            return False
        return not all(_rule_constrained(rule, SPLUNK_FIELDS) for rule in _sigma_rules(rules))
    if family == "elastic":
        if backend_id == "esql" and all(_narrow_index(query) for query in queries):
            return False
        if backend_id == "eql" and all(_eql_category(query) for query in queries):
            return False
        return not all(_rule_constrained(rule, ELASTIC_FIELDS) for rule in _sigma_rules(rules))
    return None


def _sigma_rules(rules: list) -> list[SigmaRule]:
    """The detection rules of a conversion (a correlation is constrained by the rules it combines)."""
    return [rule for rule in rules if isinstance(rule, SigmaRule)]


def _rule_constrained(rule: SigmaRule, fields: frozenset[str]) -> bool:
    return all(_constrains(condition.parsed, fields) for condition in rule.detection.parsed_condition)


def _constrains(node, fields: frozenset[str]) -> bool:
    if isinstance(node, ConditionAND):
        return any(_constrains(arg, fields) for arg in node.args)
    if isinstance(node, ConditionOR):
        return bool(node.args) and all(_constrains(arg, fields) for arg in node.args)
    if isinstance(node, ConditionFieldEqualsValueExpression) and node.field in fields:
        value = node.value
        if isinstance(value, SigmaNumber):
            return True
        return isinstance(value, SigmaString) and value.to_plain().strip("*") != ""
    return False  # a `not`, a keyword, a null, a regular expression or another field


def _narrow_index(query: str) -> bool:
    found = ESQL_INDEX.search(query)
    return bool(found) and found.group(1).strip() != "*"


def _eql_category(query: str) -> bool:
    found = EQL_CATEGORY.search(query)
    return bool(found) and found.group(1).lower() != "any"


# What a query of each family needs to search less than every event: the page says so beside one that lacks it.
WHAT_NARROWS = {
    "splunk": "a source, sourcetype, index, EventCode or Channel condition",
    "elastic": "an index narrower than all of them, or a winlog.channel, event.code or event.dataset condition",
    "sentinel": "a table to start from",
}
