"""Sigma YAML -> fresh pySigma rule objects, through the same catalog.core/sigma code the importer uses.

Pasted rules (POST /api/convert/, /preview/) and stored rules are read alike: the importer's size,
depth and node limits before libyaml parses, its quirk repairs, pySigma's validation. A problem is
returned as `line: message` (the importer's wording), never raised past this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.core.sigma.collection import pysigma_rules
from catalog.core.sigma.loading import Limits, load_file
from catalog.core.sigma.problems import Problem, RuleFileError

PASTED = "<pasted rule>"


@dataclass
class ReadRules:
    rules: list = field(default_factory=list)  # pySigma SigmaRule / SigmaCorrelationRule / SigmaFilter
    problems: list[Problem] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (line in the text, message)

    @property
    def messages(self) -> list[str]:
        return [f"line {p.line}: {p.message}" for p in self.problems]

    @property
    def warning_messages(self) -> list[str]:
        return [f"line {line}: {message}" for line, message in sorted(self.warnings)]


def text_problem(text: str, max_bytes: int) -> tuple[str, int]:
    """(what is wrong, HTTP status) with pasted rule text before it is parsed, ('', 200) when nothing.

    NUL characters (PostgreSQL refuses them in text, and no rule needs one), lone surrogates (not
    Unicode text) and the importer's size limit, checked on the UTF-8 bytes as for a file.
    """
    if "\x00" in text:
        return f"NUL character in the rule (line {text.count(chr(10), 0, text.index(chr(0))) + 1}).", 400
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "The rule holds a lone surrogate: it is not valid Unicode text.", 400
    if size > max_bytes:
        return f"The rule is {size} bytes, over the {max_bytes}-byte limit of rule files.", 413
    if not text.strip():
        return "Paste a Sigma rule: the text is empty.", 400
    return "", 200


def read_rules(text: str | bytes, limits: Limits, path: str = PASTED) -> ReadRules:
    """Every rule a YAML text defines (several documents, a legacy collection), with the problems found."""
    data = text.encode("utf-8", errors="surrogatepass") if isinstance(text, str) else text
    result = ReadRules()
    try:
        loaded = load_file(data, limits)
    except RuleFileError as exc:
        result.problems.append(Problem(path, exc.line, exc.message))
        return result
    mappings = []
    for doc in loaded.documents:
        if isinstance(doc.data, dict):
            mappings.append(doc)
        else:
            kind = type(doc.data).__name__
            result.problems.append(Problem(path, doc.line, f"YAML document is a {kind}, not a Sigma rule mapping"))
    if not loaded.documents:
        result.problems.append(Problem(path, 1, "no YAML document: paste a Sigma rule"))
    result.warnings = list(loaded.warnings)
    for doc, merged, rule in pysigma_rules(mappings, path, result.problems, limits.max_variants):
        result.rules.append(rule)
        result.warnings += [(doc.line + line - 1, message) for line, message in merged.pop("__warnings__", [])]
    return result
