"""The fields collected events lack: one reading behind /coverage/'s summary and its two tables.

A rule's gaps (runnable.Signature.gaps) name, for each collected event that backs its log source but
does not carry every field the rule looks for, the fields it lacks. The rule is *runnable with missing
fields* when no collected event carries them all; otherwise another event runs it and the gaps say
what the first one lacks (Security 4688 has no OriginalFileName, while Sysmon 1 runs the rule).

The page used to state the first ("0 runnable with missing fields") beside a table of the second
(fields 4688 lacks), which read as a contradiction. Both now come from here: `event_gaps()` counts,
per collected event, the rules it lacks fields for, split by class; `groups()` lists the same rules
by log source, each row with its rules per event. Per event, the summary's count is the sum of the
rows' (tests/coverage/test_coverage_page.py).
"""

from __future__ import annotations

from collections import defaultdict

from catalog.coverage.runnable import PARTIAL, RUNNABLE


def event_gaps(coverage) -> list[dict]:
    """Per collected event lacking fields: the rules it lacks fields for, how many of them are `partial`
    (no collected event carries every field) and how many are `runnable` (another event does)."""
    per = {}
    for signature in coverage.signatures:
        for token in signature.gaps:  # gaps are only kept for a collected (runnable or partial) signature
            row = per.setdefault(token, {"token": token, "rules": 0, PARTIAL: 0, RUNNABLE: 0})
            row["rules"] += signature.rule_count
            row[signature.status] += signature.rule_count
    return sorted(per.values(), key=lambda row: (-row["rules"], row["token"]))


def groups(coverage, status: str) -> list[dict]:
    """Signatures of a class grouped by log source and way in, with rules and missing fields counted.

    Each row's `gaps` is [(token, rules, [(field, rules)])]: per collected event lacking fields, the
    row's rules it lacks fields for, then each field with the rules that look for it.
    """
    table = {}
    for signature in coverage.of_class(status):
        via = ", ".join(way.label for way in signature.via)
        row = table.setdefault(
            (signature.logsource, via),
            {
                "logsource": signature.logsource,
                "via": via,
                "rules": 0,
                "gaps": {},
                "per_token": defaultdict(int),
            },
        )
        row["rules"] += signature.rule_count
        for token, missing in signature.gaps.items():
            row["per_token"][token] += signature.rule_count
            for name in missing:
                key = (token, name)
                row["gaps"][key] = row["gaps"].get(key, 0) + signature.rule_count
    rows = sorted(table.values(), key=lambda row: (-row["rules"], row["logsource"], row["via"]))
    for row in rows:
        by_token = defaultdict(list)
        for (token, name), n in sorted(row["gaps"].items(), key=lambda item: (item[0][0], -item[1], item[0][1])):
            by_token[token].append((name, n))
        row["gaps"] = [(token, row["per_token"][token], fields) for token, fields in sorted(by_token.items())]
        del row["per_token"]
    return rows
