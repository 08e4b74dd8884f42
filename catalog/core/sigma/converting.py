"""pySigma objects -> ParsedRule: metadata, stages, predicates, indicators and condition trees.

pySigma has validated the rule and parsed detections, modifiers, wildcards and conditions; this
module only reshapes its objects into what the catalog stores.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import yaml
from sigma.conditions import ConditionOR
from sigma.correlations import SigmaCorrelationRule
from sigma.filters import SigmaFilter
from sigma.modifiers import modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import SigmaNull, SigmaNumber, SigmaString

from .blocks import block_texts, key_line, top_level_block
from .conditions import condition_tree
from .indicators import indicators_for
from .loading import RawDocument
from .model import ParsedPredicate, ParsedRule, ParsedStage
from .polarity import block_polarities
from .problems import RuleFileError

# Stable namespace for ids derived from a file's path when a rule has none.
DERIVED_ID_NAMESPACE = uuid.UUID("5b0f3c1e-2f4d-4b8e-9a57-3c1e6d2f8a90")

KNOWN_KEYS = {
    "title",
    "id",
    "name",
    "status",
    "description",
    "references",
    "author",
    "date",
    "modified",
    "tags",
    "logsource",
    "detection",
    "fields",
    "falsepositives",
    "level",
    "license",
    "related",
    "taxonomy",
    "correlation",
    "filter",
    "scope",
    "action",
}
# Preferred spelling of modifiers that have aliases.
MODIFIER_NAMES: dict[type, str] = {}
for _name, _cls in modifier_mapping.items():
    MODIFIER_NAMES.setdefault(_cls, _name)


def derived_id(path: str, index: int) -> str:
    return str(uuid.uuid5(DERIVED_ID_NAMESPACE, f"{path}#{index}"))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _enum_name(value: Any) -> str:
    return value.name.lower() if value is not None and hasattr(value, "name") else _text(value)


def convert(doc: RawDocument, raw: dict, sigma_rule, path: str) -> ParsedRule:
    warnings = list(raw.pop("__warnings__", []))
    if isinstance(sigma_rule, SigmaCorrelationRule):
        rule_type = "correlation"
    elif isinstance(sigma_rule, SigmaFilter):
        rule_type = "filter"
    else:
        rule_type = "rule"
    invalid_id = raw.pop("__invalid_id__", None)
    id_derived = sigma_rule.id is None
    rule_uuid = str(sigma_rule.id) if sigma_rule.id else derived_id(path, doc.index)
    if invalid_id:
        line, written = invalid_id
        warnings.append(
            (line, f"id '{written}' is not a UUID; using the stable id {rule_uuid} derived from the file path")
        )
    elif id_derived:
        warnings.append((1, f"rule has no id; using the stable id {rule_uuid} derived from the file path"))
    logsource_raw = raw.get("logsource") if isinstance(raw.get("logsource"), dict) else {}
    parsed = ParsedRule(
        uuid=rule_uuid,
        title=_text(raw.get("title")),
        rule_type=rule_type,
        doc_line=doc.line,
        yaml_text=doc.text,
        id_derived=id_derived,
        name=_text(sigma_rule.name),
        status=_enum_name(sigma_rule.status) if sigma_rule.status else _text(raw.get("status")),
        level=_enum_name(sigma_rule.level) if sigma_rule.level else _text(raw.get("level")),
        description=_text(raw.get("description")),
        author=_text(raw.get("author")),
        date=sigma_rule.date if isinstance(sigma_rule.date, dt.date) else None,
        modified=sigma_rule.modified if isinstance(sigma_rule.modified, dt.date) else None,
        license=_text(raw.get("license")),
        taxonomy=_text(raw.get("taxonomy")),
        references=[str(r) for r in _as_list(raw.get("references"))],
        falsepositives=[str(r) for r in _as_list(raw.get("falsepositives"))],
        tags=[str(t) for t in _as_list(raw.get("tags"))],
        fields=[str(f) for f in _as_list(raw.get("fields"))],
        related=[
            {"id": str(r.get("id", "")), "type": str(r.get("type", ""))}
            for r in _as_list(raw.get("related"))
            if isinstance(r, dict)
        ],
        product=_text(logsource_raw.get("product")).lower(),
        category=_text(logsource_raw.get("category")).lower(),
        service=_text(logsource_raw.get("service")).lower(),
        logsource={str(k): _text(v) for k, v in logsource_raw.items()},
        other_fields=_jsonable({k: v for k, v in raw.items() if k not in KNOWN_KEYS}),
        warnings=warnings,
    )
    if rule_type == "correlation":
        _convert_correlation(parsed, sigma_rule, raw)
    else:
        detections = sigma_rule.detection if rule_type == "rule" else sigma_rule.filter
        block_owner = "detection" if rule_type == "rule" else "filter"
        if rule_type == "filter":
            parsed.filter_rules = [str(r.reference) for r in (sigma_rule.filter.rules or []) if hasattr(r, "reference")]
            if isinstance(sigma_rule.filter.rules, str):
                parsed.filter_rules = [sigma_rule.filter.rules]
        _convert_detection(parsed, detections, raw.get(block_owner) or {}, doc, block_owner)
    return parsed


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _convert_correlation(parsed: ParsedRule, rule: SigmaCorrelationRule, raw: dict) -> None:
    body = raw.get("correlation") or {}
    condition = body.get("condition")
    parsed.correlation = {
        "type": _enum_name(rule.type),
        "rules": [str(r.reference) for r in (rule.rules or [])],
        "group_by": list(rule.group_by or []),
        "timespan": _text(body.get("timespan")),
        "condition": _jsonable(condition),
        "generate": bool(rule.generate),
        "aliases": _jsonable(body.get("aliases") or {}),
    }
    rules = ", ".join(parsed.correlation["rules"])
    parsed.conditions = [
        _correlation_condition_text(condition)
        or f"{parsed.correlation['type']} of {rules} within {parsed.correlation['timespan']}"
    ]
    parsed.stages = [ParsedStage(0, "condition", parsed.conditions[0])]
    block = yaml.safe_dump({"correlation": _jsonable(body)}, sort_keys=False, allow_unicode=True)
    parsed.stages.append(ParsedStage(1, "correlation", top_level_block(parsed.yaml_text, "correlation") or block))


def _correlation_condition_text(condition: Any) -> str:
    operators = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "neq": "!="}
    if isinstance(condition, dict):
        parts = [f"{operators.get(k, k)} {v}" for k, v in condition.items() if k != "field"]
        text = " and ".join(parts)
        return f"{condition['field']} {text}" if "field" in condition else f"count {text}"
    return _text(condition)


def _convert_detection(parsed: ParsedRule, detections, raw_blocks: dict, doc: RawDocument, owner: str) -> None:
    conditions = [str(c) for c in detections.condition]
    parsed.conditions = conditions
    stages = [ParsedStage(0, "condition", "\n".join(conditions))]
    written = block_texts(doc.text, owner)
    for index, (name, detection) in enumerate(detections.detections.items(), start=1):
        stage = ParsedStage(index, name, written.get(name) or _dump_block(name, raw_blocks.get(name)))
        stage.block_combine = "or" if detection.item_linking is ConditionOR else "and"
        stage.predicates = list(_predicates(detection, parsed))
        stages.append(stage)
    parsed.stages = stages
    parsed.condition_tree = _condition_trees(conditions, detections, parsed, doc)
    polarities = block_polarities(parsed.condition_tree, [stage.name for stage in stages[1:]])
    for stage in stages[1:]:
        for predicate in stage.predicates:
            predicate.polarity = polarities[stage.name]


def _dump_block(name: str, block: Any) -> str:
    return yaml.safe_dump({name: _jsonable(block)}, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _predicates(detection: SigmaDetection, parsed: ParsedRule):
    position = 0
    groups = detection.detection_items
    nested = any(isinstance(item, SigmaDetection) for item in groups)
    for group_index, item in enumerate(groups):
        items = item.detection_items if isinstance(item, SigmaDetection) else [item]
        for sub in items:
            if not isinstance(sub, SigmaDetectionItem):
                continue
            yield _predicate(sub, position, group_index if nested else 0, parsed)
            position += 1


def _predicate(item: SigmaDetectionItem, position: int, group: int, parsed: ParsedRule) -> ParsedPredicate:
    modifiers = [MODIFIER_NAMES.get(m, m.__name__) for m in item.modifiers]
    originals = item.original_value or []
    values = [_value_as_written(v) for v in originals]
    field = item.field or ""
    if field.lower() == "eventid":
        parsed.event_ids.extend(
            int(v.number) for v in originals if isinstance(v, SigmaNumber) and isinstance(v.number, int)
        )
    return ParsedPredicate(
        position=position,
        group=group,
        field=field,
        modifiers=modifiers,
        values=values,
        combine="all" if "all" in modifiers else "any",
        indicators=indicators_for(field, modifiers, originals),
    )


def _value_as_written(value: Any) -> Any:
    if isinstance(value, SigmaString):
        return value.original
    if isinstance(value, SigmaNull):
        return None
    if isinstance(value, SigmaNumber):
        return value.number
    if hasattr(value, "boolean"):
        return value.boolean
    return str(value)


def _condition_trees(conditions: list[str], detections, parsed: ParsedRule, doc: RawDocument) -> list[Any] | None:
    """Each condition as a tree; a condition that cannot be parsed is an error of the rule (RuleFileError)."""
    trees = []
    for text in conditions:
        tree, warning = condition_tree(text, detections)
        if tree is None:  # no rule without a usable condition: matching could never decide it
            raise RuleFileError(warning, key_line(doc.text, "condition"))
        if warning:
            parsed.warnings.append((key_line(doc.text, "condition"), warning))
        trees.append(tree)
    return None if any(tree is None for tree in trees) else trees
