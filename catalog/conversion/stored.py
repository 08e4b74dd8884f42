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
import uuid as uuid_lib
from collections.abc import Iterable

from django.core.cache import caches
from django.db.models import Q

from catalog.models import Rule
from catalog.sigma.loading import Limits

from .converter import Choice, Conversion, convert
from .sources import read_rules

# Bump when this package changes what it makes of a backend's output, to drop every cached query.
CONVERSION_VERSION = "1"
# What a stored rule needs for its conversion.
RULE_FIELDS = ("pk", "uuid", "name", "rule_type", "path", "yaml_text", "content_hash", "correlation")


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


def limits() -> Limits:
    from django.conf import settings

    return Limits(settings.CATALOG_MAX_FILE_BYTES, settings.CATALOG_MAX_YAML_DEPTH, settings.CATALOG_MAX_YAML_NODES)


def convert_rule(rule: Rule, referenced: list[Rule], choice: Choice, missing: list[str] = ()) -> Conversion:
    """Convert one stored rule (and the rules a correlation combines), uncached."""
    read = read_rules(rule.yaml_text, limits(), rule.path)
    for other in referenced:
        read.rules += read_rules(other.yaml_text, limits(), other.path).rules
    if read.problems and not read.rules:
        return Conversion(None, choice.target.id, choice.pipeline, choice.target.backend_version, read.messages)
    result = convert(read.rules, choice)
    if missing:
        result.errors.append(f"The correlation names rules not in the catalog: {', '.join(missing)}.")
    return result


def rule_queries(rules: list[Rule], choice: Choice) -> dict[int, Conversion]:
    """Each rule's conversion by pk: cached ones read in one go, the rest converted and cached."""
    found = referenced_rules(rules)
    plan = {}
    for rule in rules:
        names = referenced_names(rule)
        referenced = list({found[n].pk: found[n] for n in names if n in found}.values())
        missing = [n for n in names if n not in found]
        plan[rule.pk] = (cache_key(rule, referenced, choice), rule, referenced, missing)
    cached = cache().get_many([key for key, *_ in plan.values()]) if plan else {}
    results, fresh = {}, {}
    for pk, (key, rule, referenced, missing) in plan.items():
        if key in cached:
            results[pk] = Conversion.from_cache(cached[key])
        else:
            results[pk] = convert_rule(rule, referenced, choice, missing)
            fresh[key] = results[pk].cache_dict()
    if fresh:
        cache().set_many(fresh)
    return results


def rule_query(rule: Rule, choice: Choice) -> Conversion:
    return rule_queries([rule], choice)[rule.pk]
