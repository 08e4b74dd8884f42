"""Polarity of blocks, predicates and indicators, read from the condition tree (no database)."""

import textwrap

import pytest

from catalog.core.sigma.parsing import parse_file
from catalog.core.sigma.polarity import BOTH, EXCLUDES, LOOKS_FOR, block_polarities, combined


def ref(name):
    return {"ref": name}


def op(name, *args, **extra):
    return {"op": name, "args": list(args), **extra}


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        (ref("sel"), {"sel": LOOKS_FOR, "filter": LOOKS_FOR}),
        (op("and", ref("sel"), op("not", ref("filter"))), {"sel": LOOKS_FOR, "filter": EXCLUDES}),
        # not (a and not b): a excluded, b looked for again (two nots)
        (op("not", op("and", ref("sel"), op("not", ref("filter")))), {"sel": EXCLUDES, "filter": LOOKS_FOR}),
        (op("not", op("not", op("not", ref("sel")))), {"sel": EXCLUDES, "filter": LOOKS_FOR}),
        # named both ways
        (op("or", op("and", ref("sel"), ref("filter")), op("not", ref("filter"))), {"sel": LOOKS_FOR, "filter": BOTH}),
    ],
)
def test_block_polarities_follow_the_parity_of_nots(tree, expected):
    assert block_polarities([tree], ["sel", "filter"]) == expected


def test_every_condition_of_a_rule_counts():
    trees = [ref("sel"), op("and", ref("other"), op("not", ref("sel")))]
    assert block_polarities(trees, ["sel", "other"]) == {"sel": BOTH, "other": LOOKS_FOR}


def test_unnamed_blocks_and_unparsed_conditions_stay_looked_for():
    assert block_polarities([ref("sel")], ["sel", "unused"])["unused"] == LOOKS_FOR
    assert block_polarities(None, ["sel", "filter"]) == {"sel": LOOKS_FOR, "filter": LOOKS_FOR}


def test_deep_nesting_needs_no_recursion():
    tree = ref("sel")
    for _ in range(5001):
        tree = op("not", tree)
    assert block_polarities([tree], ["sel"]) == {"sel": EXCLUDES}


def test_combined_is_both_unless_all_agree():
    assert combined([LOOKS_FOR, LOOKS_FOR]) == LOOKS_FOR
    assert combined([EXCLUDES]) == EXCLUDES
    assert combined([LOOKS_FOR, EXCLUDES]) == BOTH
    assert combined([BOTH, LOOKS_FOR]) == BOTH


def parse(yaml_text):
    rules, problems = parse_file(textwrap.dedent(yaml_text).encode(), "rule.yml")
    assert rules, problems
    return rules[0]


def polarities(rule):
    """{(block, field): polarity} of predicates and {display: polarity} of the rule's indicators."""
    predicates = {(s.name, p.field): p.polarity for s in rule.stages for p in s.predicates}
    return predicates, {key.display: polarity for key, polarity in rule.indicator_polarities()}


RULE = """
title: Test
id: 5d2c6f0e-3a7b-4c8e-9f10-0a1b2c3d4e5f
logsource: {{category: process_creation, product: windows}}
detection:
{blocks}
    condition: {condition}
"""


def rule_with(condition, blocks):
    return parse(RULE.format(condition=condition, blocks=textwrap.indent(textwrap.dedent(blocks), "    ")))


BLOCKS = """
selection:
    Image|endswith: '\\whoami.exe'
filter_main_ldap:
    Image|endswith: '\\ldapwhoami.exe'
filter_optional_sysmon:
    SourceImage|endswith: ':\\windows\\sysmon64.exe'
"""


def test_one_of_filter_pattern_excludes_each_block_it_covers():
    rule = rule_with("selection and not 1 of filter_*", BLOCKS)
    predicates, indicators = polarities(rule)
    assert predicates == {
        ("selection", "Image"): LOOKS_FOR,
        ("filter_main_ldap", "Image"): EXCLUDES,
        ("filter_optional_sysmon", "SourceImage"): EXCLUDES,
    }
    assert indicators == {"\\whoami.exe": LOOKS_FOR, "\\ldapwhoami.exe": EXCLUDES, ":\\windows\\sysmon64.exe": EXCLUDES}


def test_all_of_them_looks_for_every_block_and_its_negation_excludes_them():
    assert set(polarities(rule_with("all of them", BLOCKS))[1].values()) == {LOOKS_FOR}
    assert set(polarities(rule_with("not all of them", BLOCKS))[1].values()) == {EXCLUDES}


def test_nested_not_flips_back():
    rule = rule_with("not (filter_main_ldap and not selection) and filter_optional_sysmon", BLOCKS)
    _, indicators = polarities(rule)
    assert indicators == {
        "\\whoami.exe": LOOKS_FOR,
        "\\ldapwhoami.exe": EXCLUDES,
        ":\\windows\\sysmon64.exe": LOOKS_FOR,
    }


def test_a_value_in_blocks_of_both_polarities_is_both():
    blocks = """
    selection:
        Image|endswith: '\\net.exe'
    filter:
        Image|endswith: '\\net.exe'
        CommandLine|contains: 'view'
    """
    rule = rule_with("selection and not filter", blocks)
    _, indicators = polarities(rule)
    assert indicators == {"\\net.exe": BOTH, "view": EXCLUDES}


def test_a_meta_filter_excludes_from_the_rules_it_targets():
    rule = parse(
        """
        title: Allow the backup agent
        id: 7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
        logsource: {category: process_creation, product: windows}
        filter:
            rules:
                - 5d2c6f0e-3a7b-4c8e-9f10-0a1b2c3d4e5f
            selection:
                Image|endswith: '\\backup.exe'
            condition: not selection
        """
    )
    assert rule.rule_type == "filter"
    assert polarities(rule)[1] == {"\\backup.exe": EXCLUDES}


def test_a_correlation_carries_no_indicators():
    rule = parse(
        """
        title: Many whoami
        id: 8b2d3c4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e
        correlation:
            type: event_count
            rules:
                - 5d2c6f0e-3a7b-4c8e-9f10-0a1b2c3d4e5f
            group-by:
                - User
            timespan: 1h
            condition:
                gte: 10
        """
    )
    assert rule.rule_type == "correlation"
    assert rule.indicator_polarities() == []
    assert all(not stage.predicates for stage in rule.stages)
