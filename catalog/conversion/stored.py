"""Queries of stored rules, cached per (rule content hash, target, pipelines, format, backend versions).

The key holds everything a query depends on and nothing else, so an entry never goes stale: an
import that leaves a rule unchanged leaves its hash, and so its cached queries, as they were; a
changed rule gets a new hash and is converted afresh; upgrading a backend changes every key. A
correlation's key also holds the hashes of the rules it combines (their detections are part of its
query). Failures are cached too: converting a rule again gives the same error.

A rule page asks for one rule: one cache read when it is cached (plus one query for a
correlation's rules). A bulk export asks for a batch: one read for the batch, one conversion and
write per rule missing.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid as uuid_lib
from collections.abc import Iterable, Iterator

import yaml
from django.core.cache import caches
from django.db.models import Q

from catalog.core.sigma.loading import Limits
from catalog.core.sigma.parsing import parse_file
from catalog.core.sigma.problems import RuleFileError
from catalog.models import Predicate, Rule
from catalog.operations.metrics import count_conversion_cache

from .converter import Choice, Conversion, convert
from .sources import read_rules

# Bump when this package changes what it makes of a backend's output, to drop every cached query.
# 4: an answer says whether its query searches every event (`unconstrained`).
CONVERSION_VERSION = "4"
# What a stored rule needs for its conversion.
# Top-level keys a standalone rule document has; one without them may be part of a legacy collection.
STANDALONE_KEYS = (re.compile(r"^title\s*:", re.M), re.compile(r"^logsource\s*:", re.M), re.compile(r"condition\s*:"))
MAX_NESTING = 5  # correlations of correlations followed this deep
RULE_FIELDS = (
    "pk",
    "uuid",
    "name",
    "rule_type",
    "path",
    "yaml_text",
    "content_hash",
    "correlation",
    "title",
    "level",
    "status",
    "tags",
    "logsource",
    "conditions",
)


def cache():
    return caches["conversions"]


def cache_key(rule: Rule, referenced: list[Rule], choice: Choice) -> str:
    hashes = [rule.content_hash, *sorted(r.content_hash for r in referenced)]
    parts = [CONVERSION_VERSION, choice.target.id, choice.pipeline, choice.output_format, choice.versions, *hashes]
    return "query:" + hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def referenced_names(rule: Rule) -> list[str]:
    """What a correlation names in `rules:` (ids or names, lowercased as RuleReference stores them)."""
    if rule.rule_type != "correlation":
        return []
    return [str(name).lower() for name in (rule.correlation or {}).get("rules", []) if str(name).strip()]


def referenced_rules(rules: Iterable[Rule]) -> dict[str, Rule]:
    """The public rules that the given correlations name, by lowercased id and name (one query, or none)."""
    ids, names = set(), set()
    for rule in rules:
        for name in referenced_names(rule):
            try:
                ids.add(uuid_lib.UUID(name))
            except ValueError:
                names.add(name)
    if not ids and not names:
        return {}
    found: dict[str, Rule] = {}
    query = Rule.objects.public().filter(Q(uuid__in=ids) | Q(name__in=names)).only(*RULE_FIELDS)
    for other in query.order_by("retired", "pk"):  # a live rule wins over a retired one of the same name
        found.setdefault(str(other.uuid), other)
        if other.name:
            found.setdefault(other.name.lower(), other)
    return found


def reference_closure(rules: list[Rule]) -> dict[int, tuple[list[Rule], list[str]]]:
    """For each correlation, every rule it needs (a correlation of correlations needs theirs too) and the
    names not found; one query per level of nesting (none for plain rules)."""
    found: dict[str, Rule] = {}
    frontier = [rule for rule in rules if rule.rule_type == "correlation"]
    for _ in range(MAX_NESTING):
        wanted = [r for r in frontier if any(n not in found for n in referenced_names(r))]
        if not wanted:
            break
        new = referenced_rules(wanted)
        found.update({k: v for k, v in new.items() if k not in found})
        frontier = [r for r in new.values() if r.rule_type == "correlation"]
    result = {}
    for rule in rules:
        needed: dict[int, Rule] = {}
        missing: list[str] = []
        stack = list(referenced_names(rule))
        while stack:
            name = stack.pop(0)
            other = found.get(name)
            if other is None:
                missing.append(name)
            elif other.pk not in needed and other.pk != rule.pk:
                needed[other.pk] = other
                stack += referenced_names(other)
        result[rule.pk] = (list(needed.values()), missing)
    return result


def limits() -> Limits:
    from django.conf import settings

    return Limits(
        settings.CATALOG_MAX_FILE_BYTES,
        settings.CATALOG_MAX_YAML_DEPTH,
        settings.CATALOG_MAX_YAML_NODES,
        max_variants=settings.CATALOG_MAX_VALUE_VARIANTS,
    )


def rule_text(rule: Rule) -> str:
    """The rule's YAML for conversion: its document as written, or, for a document of a legacy collection
    (`action: global` holds the title, log source or condition), that document completed from what the
    import stored of the merged rule (detection blocks of the global document are not stored, so a
    condition naming one still fails, with pySigma's message)."""
    text = rule.yaml_text
    if rule.rule_type != "rule" or all(key.search(text) for key in STANDALONE_KEYS):
        return text
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return text
    if not isinstance(data, dict) or not isinstance(data.get("detection", {}), dict):
        return text
    detection = dict(data.get("detection") or {})
    if "condition" in detection and "title" in data and "logsource" in data:
        return text
    detection.setdefault("condition", list(rule.conditions) if len(rule.conditions) != 1 else rule.conditions[0])
    stored_fields = {"title": rule.title, "status": rule.status, "level": rule.level, "tags": list(rule.tags)}
    completed = {**{k: v for k, v in stored_fields.items() if v}, **data, "detection": detection}
    completed.setdefault("logsource", dict(rule.logsource))
    completed_text = yaml.safe_dump(completed, sort_keys=False, allow_unicode=True)
    if not same_detection(rule, completed_text):
        raise IncompleteRule(
            "This rule is one document of a legacy collection (action: global / repeat): the catalog keeps that "
            "document, which does not hold the whole rule, so it is not converted here (convert the file with "
            "sigma-cli)."
        )
    return completed_text


class IncompleteRule(Exception):
    pass


def same_detection(rule: Rule, text: str) -> bool:
    """Whether a completed document detects what the import stored for the rule (its predicates, one query):
    a repeated document or global detection blocks merge into the rule in ways its own text cannot show."""
    try:
        parsed, _ = parse_file(text.encode("utf-8"), rule.path, limits())
    except RuleFileError:
        return False
    if len(parsed) != 1:
        return False
    rebuilt = sorted(
        (p.field, json.dumps(p.modifiers), json.dumps(p.values, default=str))
        for stage in parsed[0].stages
        for p in stage.predicates
    )
    stored_rows = sorted(
        (field, json.dumps(modifiers), json.dumps(values, default=str))
        for field, modifiers, values in Predicate.objects.filter(rule_id=rule.pk).values_list(
            "field", "modifiers", "values"
        )
    )
    return rebuilt == stored_rows


def convert_rule(rule: Rule, referenced: list[Rule], choice: Choice, missing: list[str] = ()) -> Conversion:
    """Convert one stored rule (and the rules a correlation combines), uncached."""
    # pySigma converts a collection in order and a correlation reads the queries of the rules it names:
    # plain rules first, then correlations innermost first (reference_closure lists them outermost first).
    ordered = [r for r in referenced if r.rule_type != "correlation"]
    ordered += [r for r in reversed(referenced) if r.rule_type == "correlation"]
    rules = []
    try:
        for other in ordered:
            rules += read_rules(rule_text(other), limits(), other.path).rules
        read = read_rules(rule_text(rule), limits(), rule.path)
    except IncompleteRule as exc:
        return Conversion(None, choice.target.id, choice.pipeline, choice.target.backend_version, [str(exc)])
    own = read.rules
    read.rules = rules + own
    if read.problems and not read.rules:
        return Conversion(None, choice.target.id, choice.pipeline, choice.target.backend_version, read.messages)
    result = convert(read.rules, choice, main=own[-1] if len(own) == 1 and rules else None)
    if missing:
        result.errors.append(f"The correlation names rules not in the catalog: {', '.join(missing)}.")
    return result


def iter_rule_queries(rules: list[Rule], choice: Choice) -> Iterator[tuple[Rule, Conversion]]:
    """Each rule with its conversion, in order: the cached ones read in one go, the rest converted as
    they come (so a stream's next rule is not held back by the batch) and cached together at the end."""
    closure = reference_closure(rules)
    plan = []
    for rule in rules:
        referenced, missing = closure[rule.pk]
        plan.append((cache_key(rule, referenced, choice), rule, referenced, missing))
    cached = cache().get_many([key for key, *_ in plan]) if plan else {}
    count_conversion_cache(hits=len(cached), misses=len(plan) - len(cached))
    fresh = {}
    for key, rule, referenced, missing in plan:
        if key in cached:
            yield rule, Conversion.from_cache(cached[key])
        else:
            conversion = convert_rule(rule, referenced, choice, missing)
            fresh[key] = conversion.cache_dict()
            yield rule, conversion
    if fresh:
        cache().set_many(fresh)


def rule_queries(rules: list[Rule], choice: Choice) -> dict[int, Conversion]:
    """Each rule's conversion by pk (see iter_rule_queries)."""
    return {rule.pk: conversion for rule, conversion in iter_rule_queries(rules, choice)}


def rule_query(rule: Rule, choice: Choice) -> Conversion:
    return rule_queries([rule], choice)[rule.pk]
