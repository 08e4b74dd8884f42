"""Sigma YAML -> fresh pySigma rule objects, through the same catalog.sigma code the importer uses.

Pasted rules (POST /api/convert/, /preview/) and stored rules are read alike: the importer's size,
depth and node limits before libyaml parses, its quirk repairs, pySigma's validation. A problem is
returned as `line: message` (the importer's wording), never raised past this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.sigma.collection import pysigma_rules
from catalog.sigma.loading import Limits, load_file
from catalog.sigma.problems import Problem, RuleFileError

PASTED = "<pasted rule>"


@dataclass
class ReadRules:
    rules: list = field(default_factory=list)  # pySigma SigmaRule / SigmaCorrelationRule / SigmaFilter
    problems: list[Problem] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [f"line {p.line}: {p.message}" for p in self.problems]


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
    result.rules = [rule for _, _, rule in pysigma_rules(mappings, path, result.problems)]
    return result
