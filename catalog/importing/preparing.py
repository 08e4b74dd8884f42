"""Everything about a rule file that needs no database: parse, hash, normalize, look up references.

It runs in worker processes (catalog.importing.pool), so the importer's own process only does
bookkeeping and SQL, and each file is prepared in isolation: whatever one file does (an exception
anywhere in parsing, a value PostgreSQL cannot store, a rule event matching cannot compile)
becomes a problem naming that file and line, never the end of the import. No Django imports here.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from catalog.core import quality
from catalog.core.reference import attack
from catalog.core.sigma.loading import Limits
from catalog.core.sigma.model import IndicatorKey, ParsedRule
from catalog.core.sigma.parsing import key_line, parse_file
from catalog.core.sigma.problems import Problem, RuleFileError
from catalog.core.taxonomy.events import events_for, windows_categories
from catalog.importing.checks import NUL_ESCAPE, matching_problems, nul_character_line
from catalog.importing.pool import ParserPool
from catalog.importing.rows import EventRow, IndicatorRow, PredicateRow, PreparedRule, ReferenceRow, StageRow

# Bump when parsing or normalization changes, so the next import re-derives every rule.
# Also bump when the validators or their data change (catalog.core.quality), so every rule's findings are redone.
PARSER_VERSION = "6"  # 5: unparseable conditions are errors, detection.timeframe is no block; 6: quality findings
# Below this many files one worker process is enough (more cost more to start than they save).
POOL_THRESHOLD = 200


def sha(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def indicator_sha(key: IndicatorKey) -> str:
    return sha(key.field, key.kind, key.value, key.transforms, "1" if key.cased else "0")


# Rule columns holding JSON, encoded here (in the workers) rather than in the importer's process.
ENCODED_COLUMNS = (
    "references",
    "falsepositives",
    "tags",
    "related",
    "logsource",
    "other_fields",
    "conditions",
    "condition_tree",
    "correlation",
    "filter_rules",
    "warnings",
    "findings",
)


@dataclass
class PreparedFile:
    display_path: str
    rules: list[PreparedRule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failed: bool = False  # the whole file could not be read as rules


class PrepareItem(NamedTuple):
    data: bytes
    display_path: str
    limits: Limits


def prepare_rule(parsed: ParsedRule) -> PreparedRule:
    # Before the matching checks add their warnings: the findings report the parser's repairs, not those.
    findings = quality.rule_findings(parsed.sigma_rule, parsed.warnings, parsed.doc_line)
    stages = [StageRow(s.index, s.name[:200], s.text, s.block_combine) for s in parsed.stages]
    predicates = [
        PredicateRow(
            s.index,
            p.position,
            p.group,
            p.field[:200],
            json.dumps(p.modifiers),
            json.dumps(p.values, default=str),
            p.combine,
            p.polarity,
        )
        for s in parsed.stages
        for p in s.predicates
    ]
    matchable, matching_warnings = matching_problems(parsed, stages, predicates)
    if matching_warnings:
        line = key_line(parsed.yaml_text, "detection")
        parsed.warnings.extend((line, warning) for warning in matching_warnings)
    indicators = [
        IndicatorRow(indicator_sha(k), k.field[:200], k.kind, k.value, k.transforms[:200], k.cased, k.display, polarity)
        for k, polarity in parsed.indicator_polarities()
    ]
    words = [parsed.title, parsed.description, parsed.author, parsed.uuid, parsed.name, *parsed.tags]
    words += [row.display for row in indicators]
    rule_attack = attack.parse_tags(parsed.tags)
    content_hash = sha(PARSER_VERSION, parsed.yaml_text, parsed.uuid, json.dumps(parsed.logsource, sort_keys=True))
    columns = {
        "title": parsed.title[:500],
        "rule_type": parsed.rule_type,
        "name": parsed.name[:200],
        "status": parsed.status[:32],
        "level": parsed.level[:32],
        "description": parsed.description,
        "author": parsed.author,
        "date": parsed.date,
        "modified": parsed.modified,
        "license": parsed.license[:200],
        "references": parsed.references,
        "falsepositives": parsed.falsepositives,
        "tags": parsed.tags,
        "related": parsed.related,
        "product": parsed.product[:100],
        "category": parsed.category[:100],
        "service": parsed.service[:100],
        "logsource": parsed.logsource,
        "other_fields": parsed.other_fields,
        "conditions": parsed.conditions,
        "condition_tree": parsed.condition_tree,
        "correlation": parsed.correlation,
        "filter_rules": parsed.filter_rules,
        "warnings": [{"line": parsed.doc_line + line - 1, "message": message} for line, message in parsed.warnings],
        "findings": findings,
        "quality": quality.worst(findings),
        "doc_line": parsed.doc_line,
        "yaml_text": parsed.yaml_text,
        "content_hash": content_hash,
        "id_derived": parsed.id_derived,
        "search_text": "\n".join(words).casefold(),
    }
    references = [ReferenceRow("correlation", "", t.lower()) for t in parsed.correlation.get("rules", [])]
    references += [ReferenceRow("filter", "", t.lower()) for t in parsed.filter_rules]
    references += [ReferenceRow("related", r["type"][:32], r["id"].lower()) for r in parsed.related]
    return PreparedRule(
        uuid=parsed.uuid,
        doc_line=parsed.doc_line,
        warnings=parsed.warnings,
        content_hash=content_hash,
        encoded={name: json.dumps(columns.pop(name), default=str) for name in ENCODED_COLUMNS},
        columns=columns,
        stages=stages,
        predicates=predicates,
        indicators=indicators,
        tactics=rule_attack.tactics,
        techniques=rule_attack.techniques,
        events=[
            EventRow(e.provider, e.event_id, e.title)
            for e in events_for(parsed.product, parsed.category, parsed.service, sorted(set(parsed.event_ids)))
        ],
        references=references,
        matchable=matchable,
    )


def prepare_file(item: PrepareItem) -> PreparedFile:
    """One file's rules and problems. Never raises: any failure is a problem of this file."""
    data, display_path, limits = item
    result = PreparedFile(display_path)
    try:
        parsed_rules, result.problems = parse_file(data, display_path, limits)
    except RuleFileError as exc:
        return failed_file(item, exc.message, exc.line)
    except Exception as exc:  # a bug or an input nobody foresaw: this file only
        return failed_file(item, f"could not be parsed ({_described(exc)})")
    # A NUL in a value comes from a YAML escape; UTF-16/32 files (NUL bytes everywhere) are always checked.
    may_hold_nul = b"\x00" in data or NUL_ESCAPE.search(data) is not None
    for parsed in parsed_rules:
        try:
            prepared = prepare_rule(parsed)
        except Exception as exc:
            result.problems.append(Problem(display_path, parsed.doc_line, f"could not be prepared ({_described(exc)})"))
            continue
        nul_line = nul_character_line(prepared) if may_hold_nul else None
        if nul_line is not None:
            message = "a value holds a NUL character (\\0), which the database cannot store: rule not imported"
            result.problems.append(Problem(display_path, nul_line, message))
            continue
        result.rules.append(prepared)
    return result


def failed_file(item: PrepareItem, message: str, line: int = 1) -> PreparedFile:
    return PreparedFile(item.display_path, problems=[Problem(item.display_path, line, message)], failed=True)


def _described(exc: BaseException) -> str:
    """'TypeError: message, in parsing.py:123': enough to reproduce, without a traceback per file."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f", in {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}"[:300] + where


def prepare_files(items: list[PrepareItem], budget_seconds: float) -> ParserPool:
    """A pool yielding the prepared files in the order given: one worker per core when there are many.

    Use as a context manager (`with prepare_files(...) as prepared: for result in prepared: ...`).
    """
    workers = (os.cpu_count() or 1) if len(items) >= POOL_THRESHOLD else 1
    if items:
        attack.load()  # loaded once here, inherited by the forked workers
        quality.checker()  # the validators and their data, likewise
        windows_categories()  # the taxonomy (pySigma's pipelines), likewise
    return ParserPool(prepare_file, items, failed_file, workers, budget_seconds)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(PARSER_VERSION.encode() + b"\x00" + data).hexdigest()


def all_indicators(rules: Iterable[PreparedRule]) -> dict[str, IndicatorRow]:
    """Indicator rows by identity hash, each once."""
    wanted: dict[str, IndicatorRow] = {}
    for rule in rules:
        for row in rule.indicators:
            wanted.setdefault(row.key, row)
    return wanted
