"""Parse one rule file: bytes -> YAML documents -> pySigma rules -> ParsedRule objects.

The steps live in their own modules: `loading` (safe YAML), `quirks` (third-party repairs),
`collection` (pySigma and legacy collections), `converting` (pySigma objects -> ParsedRule).
Real-world quirks that the catalog can still represent faithfully (missing id, list-valued
logsource, legacy pipe aggregations) become warnings; whole-file problems raise RuleFileError.
"""

from __future__ import annotations

from .blocks import key_line
from .collection import pysigma_rules
from .converting import KNOWN_KEYS, convert, derived_id
from .loading import Limits, RawDocument, load_file
from .model import ParsedRule
from .problems import WARNING, Problem, RuleFileError

# Keys that make a YAML document (part of) a Sigma rule, correlation, filter or legacy collection. A
# document with none of them is something else that lives beside rules (a repository's tool
# configuration such as `sigma-mapping.yaml`): it is skipped with a warning, never an error. Generic
# words that tool configurations also use (`name`, `fields`, `license`, `scope`, `taxonomy`) do not count.
RULE_KEYS = frozenset(KNOWN_KEYS - {"name", "fields", "license", "scope", "taxonomy"})

__all__ = ["Limits", "derived_id", "key_line", "parse_file"]


def parse_file(data: bytes, path: str, limits: Limits | None = None) -> tuple[list[ParsedRule], list[Problem]]:
    """Parse one rule file. Whole-file problems raise RuleFileError; per-rule ones are returned."""
    limits = limits or Limits()
    loaded = load_file(data, limits)
    problems: list[Problem] = []
    mappings = []
    for doc in loaded.documents:
        if isinstance(doc.data, dict) and RULE_KEYS.isdisjoint(doc.data):
            problems.append(Problem(path, doc.line, _not_a_rule(doc.data), WARNING))
        elif isinstance(doc.data, dict):
            mappings.append(doc)
        else:
            problems.append(
                Problem(path, doc.line, f"YAML document is a {type(doc.data).__name__}, not a Sigma rule mapping")
            )
    rules: list[ParsedRule] = []
    for doc, raw, sigma_rule in pysigma_rules(mappings, path, problems, limits.max_variants):
        try:
            parsed = convert(doc, raw, sigma_rule, path)
        except RuleFileError as exc:
            problems.append(Problem(path, doc.line + exc.line - 1, exc.message))
            continue
        parsed.sigma_rule = sigma_rule
        if "id" not in doc.data and any(r.uuid == parsed.uuid for r in rules):
            # Legacy collections put one id in the `action: global` document, shared by every rule.
            inherited, parsed.uuid, parsed.id_derived = parsed.uuid, derived_id(path, doc.index), True
            parsed.warnings.append(
                (
                    1,
                    f"id {inherited} is inherited from the global document by several rules;"
                    f" this one gets the stable derived id {parsed.uuid}",
                )
            )
        rules.append(parsed)
    _attach_file_warnings(rules, mappings, loaded.warnings)
    return rules, problems


def _not_a_rule(data: dict) -> str:
    keys = ", ".join(repr(str(key))[:40] for key in list(data)[:5]) + (", ..." if len(data) > 5 else "")
    held = f"its keys: {keys}" if keys else "it is empty"
    return f"YAML document is not a Sigma rule (none of title, id, logsource, detection...; {held}): skipped"


def _attach_file_warnings(rules: list[ParsedRule], docs: list[RawDocument], warnings: list[tuple[int, str]]) -> None:
    """Give each file-level warning (encoding, duplicate keys) to the rule whose document holds its line.

    Rule warnings are the ones the importer reports without treating the file as failed; a warning
    in a document that yields no rule goes with the error that document already has.
    """
    if not rules or not warnings:
        return
    by_line = sorted(rules, key=lambda rule: rule.doc_line)
    for line, message in sorted(warnings):
        owner = by_line[0]
        for rule in by_line:
            if rule.doc_line <= line:
                owner = rule
        owner.warnings.append((max(line - owner.doc_line + 1, 1), message))
