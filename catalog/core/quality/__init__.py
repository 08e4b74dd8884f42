"""Rule quality findings: what pySigma's and SigmaHQ's validators say of a rule, and what the import repaired.

Pure Python (no Django): computed in the importer's worker processes with the rest of a rule's preparation,
and for a pasted rule by /preview/. A finding is a plain dict, stored as JSON with the rule:
`{"validator": "sigmahq_title_case", "severity": "low", "message": "...", "line": 12}` (`line` only when
known: the repairs have one, pySigma's issues don't).
"""

from __future__ import annotations

from .validators import FILE_VALIDATORS, checker, finding, ordered, validate, worst

REPAIR = "import_repair"  # the validator name of the importer's own repairs
REPAIR_SEVERITY = "medium"  # as written, pySigma refuses the rule or reads it otherwise

__all__ = ["REPAIR", "checker", "rule_findings", "worst"]


def rule_findings(sigma_rule, repairs: list[tuple[int, str]], doc_line: int = 1, pasted: bool = False) -> list[dict]:
    """Findings of one rule: the validators' on the pySigma object the importer built (after its lenient
    repairs, so a rule pySigma refuses as written is still checked), then each repair itself.

    `repairs`: the parser's warnings, (line within the rule's document, message); `doc_line`: where the
    rule's document starts in its file, so each repair's line is the file's; `pasted`: the rule has no file,
    so the checks of its file name and folder are left out.
    """
    skipped = FILE_VALIDATORS if pasted else frozenset()
    try:
        found = validate(sigma_rule, skipped) if sigma_rule is not None else []
    except Exception as exc:  # a finding, never the end of the rule's import
        found = [finding("validators", "low", f"could not check this rule ({type(exc).__name__}: {exc})")]
    found += [finding(REPAIR, REPAIR_SEVERITY, message, doc_line + line - 1) for line, message in repairs]
    return ordered(found)
