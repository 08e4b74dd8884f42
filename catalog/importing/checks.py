"""Checks on a prepared rule for what later steps would refuse: the database, event matching.

Both run in the worker, per rule, so the refusal is a problem naming the file and line instead of
a failed import (PostgreSQL rejects NUL characters in text and JSON, and one rejected row would
abort the whole COPY) or a rule silently left out of event matching.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from typing import TYPE_CHECKING

from catalog.core.sigma.conditions import aggregation
from catalog.core.sigma.correlation import SpecError, legacy_spec
from catalog.core.sigma.evaluate import compile_rule
from catalog.core.sigma.model import ParsedRule

if TYPE_CHECKING:
    from catalog.importing.rows import PredicateRow, PreparedRule, StageRow


def matching_problems(
    parsed: ParsedRule, stages: list[StageRow], predicates: list[PredicateRow]
) -> tuple[bool, list[str]]:
    """(compiles, warnings): can event matching (catalog.matching.engine) use this rule, as it will be stored?

    The same call on the same values that matching makes later (JSON columns as they come back
    from the database), so a rule it would leave out, or could only partly decide (a regex the
    linear-time engine cannot run), is named here, at import, with its file and line.
    Compiling costs about a quarter of parsing, so only rules that can differ are compiled: see
    `_compiles_as_parsed`.
    """
    if parsed.rule_type != "rule" or parsed.condition_tree is None:
        return True, []  # matching only considers detection rules with a condition
    if any(aggregation(text) for text in parsed.conditions):
        try:  # read as a correlation over its selection (catalog.core.sigma.correlation.legacy), or not at all
            legacy_spec(
                parsed.uuid, parsed.title, parsed.level, parsed.conditions, parsed.other_fields.get("timeframe")
            )
        except SpecError as exc:
            return False, [f"event matching cannot evaluate its aggregation as a correlation: {exc}"]
    if _compiles_as_parsed(parsed):
        return True, []
    names = {stage.index: stage.name for stage in stages}
    stored = [
        (names[p.stage_index], p.group, p.field, json.loads(p.modifiers), json.loads(p.values)) for p in predicates
    ]
    try:
        with _quiet(_PATTERNS_LOG):  # it logs without the file; the import's warning names it
            compiled = compile_rule(json.loads(json.dumps(parsed.condition_tree, default=str)), stored)
    except Exception as exc:
        return False, [
            f"cannot be compiled for event matching, so no event will ever match it: {type(exc).__name__}: {exc}"
        ]
    undecidable = getattr(compiled, "problems", None) or []
    return True, [
        f"event matching runs part of this rule on the backtracking regex fallback, under a time limit: {problem}"
        for problem in undecidable
    ]


# Modifiers of plain text values: pySigma builds the same strings from the stored values that it built
# from the file, and the linear-time engine runs every such string.
PLAIN_TEXT_MODIFIERS = frozenset({"contains", "startswith", "endswith", "all"})
STORED_NAME_LENGTH = 200  # block names and fields are cut to this length when stored


def _compiles_as_parsed(parsed: ParsedRule) -> bool:
    """True when matching's compile cannot fail or be partial where the parse succeeded (93% of SigmaHQ).

    Matching rebuilds each predicate with pySigma from the stored field, modifiers and values, as
    the parser built it from the file. They differ only where the parser repaired a quirk (always
    a warning), or a name was cut to fit its column; and only non-text modifiers (re, cidr, expand,
    base64, windash, ...) make values the engine may be unable to run.
    """
    if parsed.warnings:
        return False
    for stage in parsed.stages:
        if len(stage.name) > STORED_NAME_LENGTH:
            return False
        for predicate in stage.predicates:
            if len(predicate.field) > STORED_NAME_LENGTH or not PLAIN_TEXT_MODIFIERS.issuperset(predicate.modifiers):
                return False
    return True


_PATTERNS_LOG = logging.getLogger("catalog.core.sigma.patterns")


@contextlib.contextmanager
def _quiet(logger: logging.Logger):
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


# A file without any of these byte sequences has no NUL character in its values (a cheap first test).
NUL_ESCAPE = re.compile(rb"\\(?:0|x00|u0000|U00000000)")
# A NUL character escaped in JSON text (an odd number of backslashes before u0000) ...
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
# ... and the YAML escapes that produce one inside a double-quoted scalar.
_YAML_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\(?:0|x00|u0000|U00000000)")


def nul_character_line(rule: PreparedRule) -> int | None:
    """The line of a NUL character in any value of the rule (PostgreSQL stores none), else None."""
    texts = [value for value in rule.columns.values() if isinstance(value, str)]
    texts += [rule.uuid, *rule.tactics, *rule.techniques, *(message for _, message in rule.warnings)]
    for rows in (rule.stages, rule.indicators, rule.events, rule.references):
        texts += [value for row in rows for value in row if isinstance(value, str)]
    texts += [p.field for p in rule.predicates] + [p.combine for p in rule.predicates]
    json_texts = [*rule.encoded.values(), *(p.modifiers for p in rule.predicates), *(p.values for p in rule.predicates)]
    if not any("\x00" in text for text in texts) and not any(
        "\\u0000" in text and _JSON_NUL.search(text) for text in json_texts
    ):
        return None
    text = rule.columns["yaml_text"]
    escape = _YAML_NUL.search(text)
    return rule.doc_line + (text.count("\n", 0, escape.start()) if escape else 0)
