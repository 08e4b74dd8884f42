"""Why a rule fired on a logged event, or why it did not: the evaluator's verdicts, laid open.

An explanation can never disagree with the verdict, because it asks the evaluator itself: every
predicate's result is `evaluate._item` on the same compiled item and event view, and blocks and
condition nodes combine those results with the evaluator's own three-valued AND/OR/NOT. What is
added is only what a person needs to read it: the predicate as the rule writes it (field,
modifiers, values), the event value it was compared with, and where in that value the rule's
pattern matched (character offsets, found by the same RE2 program that decided).

    explain(compiled, predicates, event) -> {
        fired, condition: [node], blocks: [block], why_not: None | {...}}
    node:  {ref, result} | {op: and/or/not, selector?, args: [node], result}
    block: {name, result, groups: [{result, predicates: [predicate]}]}
    predicate: {field, modifiers, values, result, negated, event_field, event_value, missing, matches,
                renamed_from?, not_carried?}   (the last two for an event run as a mapped category)

Results are true, false or None (unknown: a placeholder or a regex RE2 cannot run). Explanations
cost a few times a plain evaluation, so callers compute them only for rules that fired and for
the one rule a user asks "why not" about.
"""

from __future__ import annotations

from typing import Any

from . import evaluate, patterns
from .evaluate import CompiledRule, EventView, Pattern

MAX_SHOWN_VALUES = 20  # a predicate's own values listed in an explanation (some have hundreds)
MAX_SHOWN_CHARS = 4000  # of an event value shown beside its predicate


def explain(compiled: CompiledRule, predicates: list[tuple], event: dict[str, Any] | EventView) -> dict:
    """The explanation of one rule on one (flattened) event. `predicates` are the rows given to
    `compile_rule` ((block, group, field, modifiers, values), in the same order)."""
    view = event if isinstance(event, EventView) else EventView(event)
    labels = _labels(predicates)
    blocks: dict[str, dict] = {}
    for name, block in compiled.blocks.items():
        groups = []
        for number, group in enumerate(block.groups):
            rows = labels.get(name, [])
            shown = rows[number] if number < len(rows) else []
            items = [_predicate(item, view, shown[i] if i < len(shown) else None) for i, item in enumerate(group)]
            groups.append({"result": evaluate._all(i["result"] for i in items), "predicates": items})
        blocks[name] = {"name": name, "result": evaluate._any(g["result"] for g in groups), "groups": groups}
    condition = [_node(tree, blocks) for tree in compiled.conditions]
    fired = any(node["result"] is True for node in condition)
    why_not = None if fired else _why_not(condition, blocks)
    return {"fired": fired, "condition": condition, "blocks": list(blocks.values()), "why_not": why_not}


class PredicateRows(list):
    """A rule's stored predicate rows that keep their grouping once worked out: a scan explains one rule on
    many events, and grouping rows of hundreds of values on each cost as much as the rest of the explanation."""

    __slots__ = ("_grouped",)

    @property
    def grouped(self) -> dict[str, list[list[tuple]]]:
        try:
            return self._grouped
        except AttributeError:
            self._grouped = _grouped(self)
            return self._grouped


def _labels(predicates: list[tuple]) -> dict[str, list[list[tuple]]]:
    """The stored predicates grouped as compile_rule groups them, kept by PredicateRows once worked out."""
    return predicates.grouped if isinstance(predicates, PredicateRows) else _grouped(predicates)


def _grouped(predicates: list[tuple]) -> dict[str, list[list[tuple]]]:
    """The stored predicates grouped exactly as compile_rule groups them: block -> maps -> items."""
    grouped: dict[str, dict[int, list[tuple]]] = {}
    for block, group, field_name, modifiers, values in predicates:
        grouped.setdefault(block, {}).setdefault(group, []).append((field_name, list(modifiers), list(values)))
    return {block: list(groups.values()) for block, groups in grouped.items()}


def matched_only(compiled: CompiledRule, predicates: list[tuple], event: dict[str, Any] | EventView) -> list[dict]:
    """`matched_predicates(explain(compiled, predicates, event))`, without the rest of the explanation: a map's
    items are laid open only when every one of them holds (a map that holds is what makes its block hold), and
    the others are evaluated only up to the first that does not. For a scan that prints the matched predicates of
    its hits: the whole explanations were a third of its time. tests/core/test_explain.py checks the equality."""
    view = event if isinstance(event, EventView) else EventView(event)
    labels = _labels(predicates)
    found = []
    for name, block in compiled.blocks.items():
        rows = labels.get(name, [])
        for number, group in enumerate(block.groups):
            results = []
            for item in group:
                results.append(evaluate._item(item, view))
                if results[-1] is not True:
                    break
            else:
                shown = rows[number] if number < len(rows) else []
                for i, (item, result) in enumerate(zip(group, results, strict=True)):
                    predicate = _predicate(item, view, shown[i] if i < len(shown) else None, result)
                    found.append(_matched(name, predicate))
    return found


def _predicate(item: evaluate.Item, view: EventView, label: tuple | None, result: Any = ...) -> dict:
    if result is ...:  # `result`: the verdict, when the caller has it
        result = evaluate._item(item, view)  # the evaluator's own verdict on this predicate
    field_name, modifiers, values = label or (item.field or "", [], [])
    shown = {
        "field": field_name or "",
        "modifiers": modifiers,
        "values": [_text(v, 200) for v in values[:MAX_SHOWN_VALUES]],
        "more_values": max(0, len(values) - MAX_SHOWN_VALUES),
        "result": result,
        "negated": item.negated,
        "event_field": None,
        "event_value": None,
        "missing": False,
        "matches": [],
    }
    # A value any of whose patterns matched decided the item true before negation, or is one of an `all` item's:
    # otherwise no pattern matched anywhere, and searching again for where would find nothing.
    matched = item.all_values or result is (not item.negated)
    programs = [value for value in item.values if value.__class__ is Pattern] if matched else []
    if item.field is None:  # keywords: the first event value holding one of them
        for key, value in view.event.items() if programs else ():
            spans = _spans(programs, view.text(key)) if value is not None else []
            if spans:
                shown.update(event_field=key, event_value=_text(value), matches=_chars(view.text(key), spans))
                break
        return shown
    key = view.lookup(item.field)
    if key is None:
        shown["missing"] = True
        if view.unknown(item.field):
            shown["not_carried"] = True  # a mapped event (Security 4688 as process_creation) has no such field
        return shown
    value = view.event[key]
    shown.update(event_field=key, event_value=None if value is None else _text(value))
    if item.field.lower() in view.renamed:
        shown["renamed_from"] = view.renamed[item.field.lower()]  # "Image (NewProcessName)"
    if value is not None and programs:
        shown["matches"] = _chars(view.text(key), _spans(programs, view.text(key)))
    return shown


def _spans(programs: list[Pattern], text: bytes) -> list[tuple[int, int]]:
    """Where each of the predicate's RE2 programs matches (byte offsets), the first match of each."""
    spans = []
    for program in programs:
        try:
            found = patterns.any_of(program.sources).search(text)
        except patterns.re2.error:
            found = next((m for m in (patterns.any_of((s,)).search(text) for s in program.sources) if m), None)
        if found is not None:
            spans.append(found.span())
    return spans


def _chars(text: bytes, spans: list[tuple[int, int]]) -> list[list[int]]:
    """Byte offsets in the UTF-8 value as character offsets, within what is shown, sorted."""
    result = []
    for start, end in sorted(spans):
        first = len(text[:start].decode("utf-8", "ignore"))
        last = len(text[:end].decode("utf-8", "ignore"))
        if first < MAX_SHOWN_CHARS:
            result.append([first, min(last, MAX_SHOWN_CHARS)])
    return result


def _text(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    text = value if isinstance(value, str) else "null" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _node(tree: dict, blocks: dict[str, dict]) -> dict:
    """The condition tree with each node's result, combined as the evaluator combines them."""
    if "ref" in tree:
        block = blocks.get(tree["ref"])
        return {"ref": tree["ref"], "result": False if block is None else block["result"]}
    args = [_node(arg, blocks) for arg in tree["args"]]
    if tree["op"] == "not":
        inner = args[0]["result"]
        result = None if inner is None else not inner
    elif tree["op"] == "and":
        result = evaluate._all(arg["result"] for arg in args)
    else:
        result = evaluate._any(arg["result"] for arg in args)
    node = {"op": tree["op"], "args": args, "result": result}
    if "selector" in tree:
        node["selector"] = tree["selector"]
    return node


def _why_not(condition: list[dict], blocks: dict[str, dict]) -> dict | None:
    """The first block that kept the rule from firing and the predicate that decided it."""
    for node in condition:
        found = _culprit(node, True)
        if found is not None:
            return _reason(blocks[found[0]], found[1]) if found[0] in blocks else None
    return None


def _culprit(node: dict, want: bool) -> tuple[str, bool] | None:
    """(block name, what it should have been) of the first block whose result spoiled `node`."""
    if node["result"] is want:
        return None
    if "ref" in node:
        return node["ref"], want
    if node["op"] == "not":
        return _culprit(node["args"][0], not want)
    # An AND that should hold (or an OR that should not) fails at its first spoiling argument; an
    # OR that should hold (or an AND that should not) fails at each: the first is reported.
    for arg in node["args"]:
        found = _culprit(arg, want)
        if found is not None:
            return found
    return None


def _reason(block: dict, wanted: bool) -> dict:
    """What went wrong in a block: for one that should have matched, the first predicate that did not
    (of its first map); for an excluding block that matched, the predicates that matched."""
    if block["result"] is None:
        unknown = [p for group in block["groups"] for p in group["predicates"] if p["result"] is None]
        predicate = unknown[0] if unknown else None
        what = _label(predicate) if predicate else "a part of it"
        message = f"block '{block['name']}' cannot be decided: {what} is undecidable here"
        return {"block": block["name"], "expected": wanted, "predicate": predicate, "message": message}
    if wanted:
        group = block["groups"][0] if block["groups"] else {"predicates": []}
        failing = [p for p in group["predicates"] if p["result"] is not True]
        predicate = failing[0] if failing else None
        if predicate is None:
            message = f"block '{block['name']}' did not match"
        elif predicate["result"] is None:
            message = f"block '{block['name']}' cannot be decided: {_label(predicate)} is undecidable here"
        elif predicate["missing"]:
            message = f"block '{block['name']}' did not match: the event has no field {predicate['field']!r}"
        else:
            shown = predicate["event_value"]
            message = f"block '{block['name']}' did not match: {_label(predicate)} is not met by {shown!r}"
        return {"block": block["name"], "expected": True, "predicate": predicate, "message": message}
    matched = [p for group in block["groups"] if group["result"] for p in group["predicates"] if p["result"]]
    message = f"block '{block['name']}' matched, and the condition excludes events it matches"
    return {"block": block["name"], "expected": False, "predicate": matched[0] if matched else None, "message": message}


def _label(predicate: dict) -> str:
    key = "|".join([predicate["field"], *predicate["modifiers"]]) if predicate["field"] else "keywords"
    values = ", ".join(predicate["values"][:3]) + (" …" if len(predicate["values"]) > 3 else "")
    return f"{key}: {values}"


def highlight(value: str | None, matches: list[list[int]]) -> list[tuple[str, bool]]:
    """A value cut into (text, matched) pieces for display; overlapping spans are merged."""
    if value is None:
        return []
    pieces, position = [], 0
    for start, end in matches:
        start = max(start, position)
        if end <= start:
            continue
        if start > position:
            pieces.append((value[position:start], False))
        pieces.append((value[start:end], True))
        position = end
    if position < len(value):
        pieces.append((value[position:], False))
    return pieces


def matched_predicates(explanation: dict) -> list[dict]:
    """The predicates that made the rule fire, compactly: block, predicate, event field and the
    matched text (for one-line outputs such as `match_event --format jsonl`)."""
    found = []
    for block in explanation["blocks"]:
        if block["result"] is not True:
            continue
        for group in block["groups"]:
            if group["result"] is not True:
                continue
            found.extend(_matched(block["name"], predicate) for predicate in group["predicates"])
    return found


def _matched(block: str, predicate: dict) -> dict:
    value = predicate["event_value"] or ""
    return {
        "block": block,
        "predicate": "|".join([predicate["field"] or "keywords", *predicate["modifiers"]]),
        "field": predicate["event_field"],
        "matched": [value[start:end] for start, end in predicate["matches"]],
    }
