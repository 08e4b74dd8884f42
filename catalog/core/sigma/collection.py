"""YAML documents -> pySigma rule objects, with legacy collections merged and errors sorted.

pySigma validates each rule and collects its errors. Errors about descriptive metadata leave the
rule usable, so they become warnings; errors in the detection, condition or log source make the
rule unusable and become problems. Each error's line is the line of the key it complains about,
else the line pySigma recorded in `error.source`, else the document's first line.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path

from sigma import exceptions as sigma_exceptions
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from . import expansion
from .blocks import find_key_line, key_line
from .loading import RawDocument
from .problems import Problem, error_message, source_line
from .quirks import fix_quirks

# pySigma errors about descriptive metadata: the rule is still usable, so they become warnings.
METADATA_ERRORS = (
    sigma_exceptions.SigmaStatusError,
    sigma_exceptions.SigmaLevelError,
    sigma_exceptions.SigmaDateError,
    sigma_exceptions.SigmaModifiedError,
    sigma_exceptions.SigmaTagError,
    sigma_exceptions.SigmaRelatedError,
    sigma_exceptions.SigmaReferencesError,
    sigma_exceptions.SigmaFalsePositivesError,
    sigma_exceptions.SigmaAuthorError,
    sigma_exceptions.SigmaDescriptionError,
    sigma_exceptions.SigmaLicenseError,
    sigma_exceptions.SigmaFieldsError,
    sigma_exceptions.SigmaScopeError,
    sigma_exceptions.SigmaTaxonomyError,
    sigma_exceptions.SigmaNameError,
)
QUOTED = re.compile(r"'([^'\n]{1,200})'")
# The key each kind of pySigma error is about, to point at its line.
ERROR_KEYS = {
    sigma_exceptions.SigmaLogsourceError: "logsource",
    sigma_exceptions.SigmaDetectionError: "detection",
    sigma_exceptions.SigmaConditionError: "condition",
    sigma_exceptions.SigmaStatusError: "status",
    sigma_exceptions.SigmaLevelError: "level",
    sigma_exceptions.SigmaDateError: "date",
    sigma_exceptions.SigmaModifiedError: "modified",
    sigma_exceptions.SigmaIdentifierError: "id",
    sigma_exceptions.SigmaTitleError: "title",
    sigma_exceptions.SigmaTagError: "tags",
    sigma_exceptions.SigmaModifierError: "detection",
    sigma_exceptions.SigmaRelatedError: "related",
    sigma_exceptions.SigmaCorrelationRuleError: "correlation",
    sigma_exceptions.SigmaFilterError: "filter",
    sigma_exceptions.SigmaRegularExpressionError: "detection",
    sigma_exceptions.SigmaReferencesError: "references",
    sigma_exceptions.SigmaFalsePositivesError: "falsepositives",
    sigma_exceptions.SigmaAuthorError: "author",
    sigma_exceptions.SigmaDescriptionError: "description",
    sigma_exceptions.SigmaFieldsError: "fields",
    sigma_exceptions.SigmaLicenseError: "license",
    sigma_exceptions.SigmaScopeError: "scope",
    sigma_exceptions.SigmaTaxonomyError: "taxonomy",
    sigma_exceptions.SigmaNameError: "name",
}


def pysigma_rules(
    docs: list[RawDocument],
    path: str,
    problems: list[Problem],
    max_variants: int = expansion.DEFAULT_MAX_VARIANTS,
) -> Iterator[tuple]:
    """Yield (document, merged raw dict, pySigma rule) for every rule the documents define.

    Legacy collections (action: global / reset / repeat) are merged the way pySigma does it.
    `max_variants`: values the file's windash / base64offset items may expand to, all rules together
    (catalog.core.sigma.expansion); a rule that would pass it is a problem, never handed to pySigma.
    """
    expanded = [0]  # the file's running count, shared with _pysigma_rule
    global_rule: dict = {}
    previous: dict = {}
    source_path = Path(path)  # made once: a Path costs more than the location built from it
    for doc in docs:
        raw = doc.data
        action = raw.get("action")
        if action == "global":
            global_rule = {k: v for k, v in raw.items() if k != "action"}
            previous = global_rule
            continue
        if action == "reset":
            global_rule = {}
            continue
        if action == "repeat":
            merged = _deep_merge(copy.deepcopy(previous), {k: v for k, v in raw.items() if k != "action"})
        elif action is not None:
            problems.append(
                Problem(path, doc.line + key_line(doc.text, "action") - 1, f"unknown collection action '{action}'")
            )
            continue
        elif "correlation" in raw or "filter" in raw:
            merged = raw
        else:
            merged = _deep_merge(copy.deepcopy(global_rule), raw) if global_rule else raw
            previous = merged
        rule = _pysigma_rule(doc, merged, path, source_path, problems, (expanded, max_variants))
        if rule is not None:
            yield doc, merged, rule


def _pysigma_rule(doc: RawDocument, merged: dict, path: str, source_path: Path, problems: list[Problem], budget: tuple):
    """pySigma's rule for one merged document, or None (with its problems noted) when unusable."""
    view, warnings, fatal = fix_quirks(merged, doc, path)
    if fatal:
        problems.extend(Problem(path, doc.line + line - 1, message) for line, message in fatal)
        return None
    # pySigma expands windash and base64offset as it parses: count first, and refuse what would explode.
    expanded, max_variants = budget
    total, largest = expansion.rule_variants(view)
    too_many = expansion.too_many(total, largest, max_variants, expanded[0])
    if too_many:
        line = find_key_line(doc.text, largest.key) if largest and largest.key else None
        problems.append(Problem(path, doc.line + (line or key_line(doc.text, "detection")) - 1, too_many))
        return None
    expanded[0] += total
    # The rule classes pySigma's SigmaCollection.from_dicts would pick, without the collection.
    rule_class = SigmaCorrelationRule if "correlation" in view else SigmaFilter if "filter" in view else SigmaRule
    location = SigmaRuleLocation(source_path, line=doc.line)
    try:
        sigma_rule = rule_class.from_dict(view, collect_errors=True, source=location)
    except sigma_exceptions.SigmaError as exc:
        problems.append(Problem(path, _error_line(doc, exc), error_message(exc)))
        return None
    except Exception as exc:  # pySigma can still trip over malformed structures
        problems.append(Problem(path, doc.line, f"cannot parse rule: {type(exc).__name__}: {error_message(exc)}"))
        return None
    errors = [e for e in sigma_rule.errors if not isinstance(e, METADATA_ERRORS)]
    if errors:
        problems.extend(Problem(path, _error_line(doc, e), error_message(e)) for e in errors)
        return None
    for error in sigma_rule.errors:
        warnings.append((_error_line(doc, error) - doc.line + 1, error_message(error)))
    merged.setdefault("__warnings__", []).extend(warnings)
    return sigma_rule


def _deep_merge(base: dict, update: dict) -> dict:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def _error_line(doc: RawDocument, error: Exception) -> int:
    """Best line in the file for a pySigma error: the line of what it quotes inside the key it is
    about (an unknown modifier, a bad regex), else that key's line, else its recorded source line."""
    for cls, key in ERROR_KEYS.items():
        if isinstance(error, cls):
            line = find_key_line(doc.text, key)
            if line is not None:
                return doc.line + _quoted_line(doc.text, line, error_message(error)) - 1
            break
    return source_line(error) or doc.line


def _quoted_line(text: str, after: int, message: str) -> int:
    """The first line from `after` on holding the text the message quotes (`'endwith'`), else `after`."""
    quoted = QUOTED.search(message)
    if not quoted or not quoted.group(1):
        return after
    start = 0
    for _ in range(after - 1):
        start = text.find("\n", start) + 1
    found = text.find(quoted.group(1), start)
    return text.count("\n", 0, found) + 1 if found >= 0 else after
