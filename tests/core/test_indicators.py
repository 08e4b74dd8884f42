"""Indicator normalization (docs/design.md): kinds, transforms, case, wildcards and escapes."""

import pytest

from tests.sigma_helpers import indicators, parse_one


def kinds(body):
    return [(field, kind, display) for field, kind, _value, _t, _c, display in indicators(body)]


def test_endswith_modifier_and_leading_wildcard_are_the_same_indicator():
    a = indicators("sel:\n  Image|endswith: '\\net.exe'\ncondition: sel")
    b = indicators("sel:\n  Image: '*\\net.exe'\ncondition: sel")
    assert a == b == [("Image", "ends_with", "\\net.exe", "", False, "\\net.exe")]


@pytest.mark.parametrize(
    "item, kind, display",
    [
        ("Image: 'C:\\Windows\\System32\\net.exe'", "eq", "C:\\Windows\\System32\\net.exe"),
        ("Image|startswith: 'C:\\Temp\\'", "starts_with", "C:\\Temp\\"),
        ("Image: 'C:\\Temp\\\\*'", "starts_with", "C:\\Temp\\"),
        ("Image: 'C:\\Temp\\*'", "eq", "C:\\Temp\\*"),  # a backslash before * escapes it
        ("CommandLine|contains: ' use '", "match", " use "),
        ("CommandLine: '* use *'", "match", " use "),
        ("CommandLine: 'a*b'", "match", "a*b"),
        ("CommandLine: '*a?b'", "match", "a?b"),
        ("CommandLine|endswith: 'x?y'", "match", "x?y"),
        ("CommandLine: '*'", "match", "*"),
    ],
)
def test_kind_comes_from_the_resulting_pattern(item, kind, display):
    assert kinds(f"sel:\n  {item}\ncondition: sel") == [(item.split("|")[0].split(":")[0], kind, display)]


def test_escaped_wildcards_are_literal_and_keep_their_escape_in_display():
    result = kinds("sel:\n  A: 'foo\\*'\n  B: 'what\\?'\n  C|contains: 'C:\\Users\\\\*\\AppData'\ncondition: sel")
    assert result == [("A", "eq", "foo\\*"), ("B", "eq", "what\\?"), ("C", "match", "C:\\Users\\\\*\\AppData")]


def test_value_ending_with_a_literal_backslash():
    assert kinds("sel:\n  TargetObject|endswith: '\\Run\\'\ncondition: sel") == [
        ("TargetObject", "ends_with", "\\Run\\")
    ]


def test_values_are_casefolded_unless_cased():
    lower = indicators("sel:\n  Image|endswith: '\\NET.exe'\ncondition: sel")[0]
    cased = indicators("sel:\n  Image|endswith|cased: '\\NET.exe'\ncondition: sel")[0]
    assert lower[2] == "\\net.exe" and lower[5] == "\\NET.exe" and lower[4] is False
    assert cased[2] == "\\NET.exe" and cased[4] is True
    assert lower[:5] != cased[:5]


def test_all_joins_values_but_is_not_part_of_the_identity():
    rule = parse_one("sel:\n  CommandLine|contains|all: [' -enc ', ' -nop ']\ncondition: sel")
    predicate = rule.stages[1].predicates[0]
    assert predicate.combine == "all" and predicate.modifiers == ["contains", "all"]
    plain = indicators("sel:\n  CommandLine|contains: [' -enc ', ' -nop ']\ncondition: sel")
    assert [k.identity for k in rule.indicators()] == [p[:5] for p in plain]


@pytest.mark.parametrize(
    "modifiers, transforms",
    [
        ("windash|contains", "windash"),
        ("base64|contains", "base64"),
        ("base64offset|contains", "base64offset"),
        ("wide|base64offset|contains", "wide|base64offset"),
        ("utf16le|base64offset|contains", "wide|base64offset"),
        ("utf16|base64offset|contains", "utf16|base64offset"),
        ("utf16be|base64offset|contains", "utf16be|base64offset"),
    ],
)
def test_transforms_are_part_of_the_identity(modifiers, transforms):
    ((field, kind, value, got, cased, display),) = indicators(f"sel:\n  CommandLine|{modifiers}: 'IEX'\ncondition: sel")
    assert (kind, value, got, display) == ("match", "iex", transforms, "IEX")


def test_expand_keeps_the_placeholder():
    ((_, kind, value, transforms, _, display),) = indicators("sel:\n  User|expand: '%Admins%'\ncondition: sel")
    assert (kind, transforms, display) == ("eq", "expand", "%Admins%")


def test_regex_with_flags_is_kept_verbatim_and_cased():
    result = indicators("sel:\n  CommandLine|re|i|m: 'Invoke-.*Mimi[kK]atz'\ncondition: sel")
    assert result == [("CommandLine", "regex", "Invoke-.*Mimi[kK]atz", "flags:im", True, "Invoke-.*Mimi[kK]atz")]


@pytest.mark.parametrize(
    "item, kind, value",
    [
        ("DestinationIp|cidr: '10.0.0.0/8'", "cidr", "10.0.0.0/8"),
        ("UserAgent|exists: false", "exists", "false"),
        ("SubjectUserName|fieldref: TargetUserName", "fieldref", "TargetUserName"),
        ("Bytes|lt: 10", "lt", "10"),
        ("Bytes|lte: 10", "lte", "10"),
        ("Bytes|gt: 10", "gt", "10"),
        ("Bytes|gte: 10", "gte", "10"),
        ("LogonType|neq: 3", "neq", "3"),
        ("EventTime|hour: 3", "hour", "3"),
        ("EventTime|minute: 15", "minute", "15"),
        ("EventTime|day: 24", "day", "24"),
        ("EventTime|week: 52", "week", "52"),
        ("EventTime|month: 12", "month", "12"),
        ("EventTime|year: 2026", "year", "2026"),
        ("UserAgent: null", "null", ""),
        ("EventID: 4688", "eq", "4688"),
    ],
)
def test_other_kinds(item, kind, value):
    ((field, got_kind, got_value, _t, _c, _d),) = indicators(f"sel:\n  {item}\ncondition: sel")
    assert (field, got_kind, got_value) == (item.split("|")[0].split(":")[0], kind, value)


def test_keywords_have_no_field_and_kind_keyword():
    result = kinds("keywords:\n  - 'mimikatz'\n  - '*sekurlsa::*'\ncondition: keywords")
    assert result == [("", "keyword", "mimikatz"), ("", "keyword", "sekurlsa::")]


def test_list_of_maps_gives_grouped_predicates():
    rule = parse_one(
        "sel:\n  - Image|endswith: '\\a.exe'\n    CommandLine|contains: x\n  - OriginalFileName: a.exe\ncondition: sel"
    )
    stage = rule.stages[1]
    assert stage.block_combine == "or"
    assert [(p.group, p.field) for p in stage.predicates] == [(0, "Image"), (0, "CommandLine"), (1, "OriginalFileName")]


def test_predicates_keep_values_as_sigma_means_them():
    rule = parse_one("sel:\n  A|endswith: '\\x\\*'\n  B: null\n  C: [1, 2]\n  D|exists: true\ncondition: sel")
    values = [(p.field, p.modifiers, p.values) for p in rule.stages[1].predicates]
    assert values == [("A", ["endswith"], ["\\x\\*"]), ("B", [], [None]), ("C", [], [1, 2]), ("D", ["exists"], [True])]


@pytest.mark.parametrize(
    "condition, tree",
    [
        (
            "sel_a and not filter",
            [{"op": "and", "args": [{"ref": "sel_a"}, {"op": "not", "args": [{"ref": "filter"}]}]}],
        ),
        ("1 of sel_*", [{"op": "or", "args": [{"ref": "sel_a"}, {"ref": "sel_b"}], "selector": "1 of sel_*"}]),
        (
            "all of them",
            [{"op": "and", "args": [{"ref": "sel_a"}, {"ref": "sel_b"}, {"ref": "filter"}], "selector": "all of them"}],
        ),
        (
            "(sel_a or sel_b) and not filter",
            [
                {
                    "op": "and",
                    "args": [
                        {"op": "or", "args": [{"ref": "sel_a"}, {"ref": "sel_b"}]},
                        {"op": "not", "args": [{"ref": "filter"}]},
                    ],
                }
            ],
        ),
    ],
)
def test_condition_is_kept_parsed(condition, tree):
    rule = parse_one(f"sel_a:\n  A: 1\nsel_b:\n  B: 2\nfilter:\n  C: 3\ncondition: '{condition}'")
    assert rule.condition_tree == tree
    assert rule.stages[0].text == condition


def test_condition_list_keeps_each_condition():
    rule = parse_one("sel_a:\n  A: 1\nsel_b:\n  B: 2\ncondition:\n  - sel_a\n  - sel_b")
    assert rule.conditions == ["sel_a", "sel_b"]
    assert rule.condition_tree == [{"ref": "sel_a"}, {"ref": "sel_b"}]


def test_stage_text_is_the_block_as_written():
    rule = parse_one(
        "selection_img:\n  - Image|endswith:\n      - '\\net.exe'   # comment kept\n"
        "  - OriginalFileName: 'net.exe'\ncondition: selection_img"
    )
    assert (
        rule.stages[1].text == "selection_img:\n  - Image|endswith:\n      - '\\net.exe'   # comment kept\n"
        "  - OriginalFileName: 'net.exe'\n"
    )


def test_eventid_values_feed_event_coverage():
    rule = parse_one(
        "sel:\n  EventID: [4688, 4689]\ncondition: sel", logsource="product: windows\n    service: security"
    )
    assert rule.event_ids == [4688, 4689]


def test_correlation_stage_is_the_block_as_written():
    from catalog.core.sigma.parsing import parse_file

    text = (
        "title: Burst\nid: 0d0a1b7e-7d7d-4c4c-9a9a-0000000000dd\ncorrelation:\n    type: event_count\n"
        "    rules:\n        - some_rule   # by name\n    group-by:\n        - User\n    timespan: 5m\n"
        "    condition:\n        gte: 10\nlevel: high\n"
    )
    [rule], problems = parse_file(text.encode(), "c.yml")
    assert not problems
    assert rule.stages[1].text == (
        "correlation:\n    type: event_count\n    rules:\n        - some_rule   # by name\n    group-by:\n"
        "        - User\n    timespan: 5m\n    condition:\n        gte: 10\n"
    )
    assert rule.stages[0].text == "count >= 10"
