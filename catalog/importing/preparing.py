"""Everything about a rule file that needs no database: parse, hash, normalize, look up references.

It runs in worker processes when many files changed (a cold import of SigmaHQ parses ~3,800 files),
so the importer's own process only does bookkeeping and SQL. No Django imports here.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from catalog.reference import attack
from catalog.reference.events import events_for
from catalog.sigma.loading import Limits
from catalog.sigma.model import IndicatorKey, ParsedRule
from catalog.sigma.parsing import parse_file
from catalog.sigma.problems import Problem, RuleFileError

# Bump when parsing or normalization changes, so the next import re-derives every rule.
PARSER_VERSION = "3"
# Below this many files a process pool costs more than it saves.
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
)


@dataclass
class PreparedRule:
    """A rule ready to be written: column values and child rows as plain tuples.

    Plain tuples and strings cross the process boundary several times faster than dataclass trees.
    """

    uuid: str
    doc_line: int
    warnings: list[tuple[int, str]]
    content_hash: str
    columns: dict[str, Any]  # Rule's Sigma columns as Python values, but for ...
    encoded: dict[str, str]  # ... the JSON ones, as JSON text (each value crosses processes once)
    stages: list[tuple[int, str, str, str]]  # index, name, text, combine
    predicates: list[
        tuple[int, int, int, str, str, str, str]
    ]  # stage index, position, group, field, modifiers, values (JSON), combine
    indicators: list[
        tuple[str, str, str, str, str, bool, str]
    ]  # identity hash, field, kind, value, transforms, cased, display
    tactics: list[str]
    techniques: list[str]
    events: list[tuple[str, int | None, str]]  # provider, event id, title
    references: list[tuple[str, str, str]]  # kind, relation, target


@dataclass
class PreparedFile:
    display_path: str
    rules: list[PreparedRule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failed: bool = False  # the whole file could not be read as rules


def prepare_rule(parsed: ParsedRule) -> PreparedRule:
    indicators = [
        (indicator_sha(k), k.field[:200], k.kind, k.value, k.transforms[:200], k.cased, k.display)
        for k in parsed.indicators()
    ]
    words = [parsed.title, parsed.description, parsed.author, parsed.uuid, parsed.name, *parsed.tags]
    words += [row[-1] for row in indicators]
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
        "doc_line": parsed.doc_line,
        "yaml_text": parsed.yaml_text,
        "content_hash": content_hash,
        "id_derived": parsed.id_derived,
        "search_text": "\n".join(words).casefold(),
    }
    references = [("correlation", "", t.lower()) for t in parsed.correlation.get("rules", [])]
    references += [("filter", "", t.lower()) for t in parsed.filter_rules]
    references += [("related", r["type"][:32], r["id"].lower()) for r in parsed.related]
    return PreparedRule(
        uuid=parsed.uuid,
        doc_line=parsed.doc_line,
        warnings=parsed.warnings,
        content_hash=content_hash,
        encoded={name: json.dumps(columns.pop(name), default=str) for name in ENCODED_COLUMNS},
        columns=columns,
        stages=[(s.index, s.name[:200], s.text, s.block_combine) for s in parsed.stages],
        predicates=[
            (
                s.index,
                p.position,
                p.group,
                p.field[:200],
                json.dumps(p.modifiers),
                json.dumps(p.values, default=str),
                p.combine,
            )
            for s in parsed.stages
            for p in s.predicates
        ],
        indicators=indicators,
        tactics=rule_attack.tactics,
        techniques=rule_attack.techniques,
        events=[
            (e.provider, e.event_id, e.title)
            for e in events_for(parsed.product, parsed.category, parsed.service, sorted(set(parsed.event_ids)))
        ],
        references=references,
    )


def prepare_file(item: tuple[bytes, str, Limits]) -> PreparedFile:
    data, display_path, limits = item
    result = PreparedFile(display_path)
    try:
        parsed_rules, result.problems = parse_file(data, display_path, limits)
    except RuleFileError as exc:
        result.problems = [Problem(display_path, exc.line, exc.message)]
        result.failed = True
        return result
    result.rules = [prepare_rule(parsed) for parsed in parsed_rules]
    return result


def prepare_files(items: list[tuple[bytes, str, Limits]]) -> Iterator[PreparedFile]:
    """Prepared files in the order given; in parallel on every core when there are many."""
    workers = os.cpu_count() or 1
    if len(items) < POOL_THRESHOLD or workers < 2:
        yield from map(prepare_file, items)
        return
    attack.load()  # loaded once here, inherited by the forked workers
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(prepare_file, items, chunksize=32)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(PARSER_VERSION.encode() + b"\x00" + data).hexdigest()


def all_indicators(rules: Iterable[PreparedRule]) -> dict[str, tuple]:
    """Indicator rows by identity hash, each once."""
    wanted: dict[str, tuple] = {}
    for rule in rules:
        for row in rule.indicators:
            wanted.setdefault(row[0], row)
    return wanted
