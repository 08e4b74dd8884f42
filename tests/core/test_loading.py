"""Bad input gets a clear, specific error (file, line, what is wrong), fast and without eating memory."""

import tracemalloc

import pytest

from catalog.core.sigma.loading import Limits, load_documents
from catalog.core.sigma.parsing import parse_file
from catalog.core.sigma.problems import RuleFileError

RULE = """title: Good
id: 0d0a1b7e-7d7d-4c4c-9a9a-000000000002
logsource:
    product: windows
detection:
    sel:
        Image|endswith: '\\x.exe'
    condition: sel
"""


def error_of(data: bytes, limits=None) -> RuleFileError:
    with pytest.raises(RuleFileError) as info:
        parse_file(data, "bad.yml", limits)
    return info.value


def test_file_over_the_size_limit():
    error = error_of(RULE.encode() + b"#" * 2000, Limits(max_bytes=1000))
    assert "over the 1000-byte limit" in error.message


def test_binary_file():
    error = error_of(b"title: x\n\x00\x01\x02")
    assert "binary" in error.message and error.line == 2


def test_non_utf8_names_the_line():
    error = error_of(b"title: ok\ndescription: caf\xe9\n")
    assert "not UTF-8" in error.message and error.line == 2


def test_invalid_yaml_names_the_line():
    error = error_of(b"title: x\ndetection:\n  sel: [unclosed\n  condition: sel\nlevel: low\n")
    assert error.message.startswith("invalid YAML") and error.line >= 3


def test_billion_laughs_fails_fast_with_a_clear_message():
    lines = ["a0: &a0 ['lol','lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    data = ("title: boom\n" + "\n".join(lines) + "\n").encode()
    tracemalloc.start()
    error = error_of(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "expands to more than" in error.message
    # 10^10 nodes if expanded: the check must stop without materialising them.
    assert peak < 50 * 1024 * 1024


def test_recursive_alias_is_rejected():
    error = error_of(b"title: loop\nx: &x [*x]\n")
    assert "recursive" in error.message or "nesting" in error.message


def test_absurd_nesting_is_rejected_without_crashing():
    error = error_of(b"title: deep\nx: " + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    assert "nesting deeper than" in error.message


def test_quoted_brackets_are_not_nesting():
    # Log4Shell rules are full of '${' and '{': they must import.
    text = RULE.replace("'\\x.exe'", "'" + "${jndi:${lower:l}}" * 40 + "'")
    rules, problems = parse_file(text.encode(), "ok.yml")
    assert len(rules) == 1 and not problems


def test_a_document_that_is_not_a_mapping_is_an_error_with_its_line():
    rules, problems = parse_file((RULE + "---\n- just\n- a list\n").encode(), "two.yml")
    assert len(rules) == 1
    assert [(p.line, "not a Sigma rule mapping" in p.message) for p in problems] == [(10, True)]


def test_unknown_modifier_is_an_error_with_the_line_of_its_key():
    rules, problems = parse_file(RULE.replace("endswith", "endwith").encode(), "mod.yml")
    assert rules == []
    assert len(problems) == 1 and "endwith" in problems[0].message and problems[0].line == 7


def test_missing_detection_is_an_error():
    rules, problems = parse_file(b"title: no detection\nlogsource:\n    product: windows\n", "nodet.yml")
    assert rules == [] and problems and problems[0].path == "nodet.yml"


def test_documents_keep_their_own_text_and_line():
    docs = load_documents((RULE + "---\n" + RULE.replace("Good", "Second")).encode(), Limits())
    assert [d.line for d in docs] == [1, 10]
    assert docs[1].text.startswith("title: Second")


def test_missing_id_gets_a_stable_derived_id_and_a_warning():
    text = RULE.replace("id: 0d0a1b7e-7d7d-4c4c-9a9a-000000000002\n", "")
    first, _ = parse_file(text.encode(), "a/b.yml")
    again, _ = parse_file(text.encode(), "a/b.yml")
    other, _ = parse_file(text.encode(), "a/c.yml")
    assert first[0].uuid == again[0].uuid != other[0].uuid
    assert first[0].id_derived and any("no id" in message for _, message in first[0].warnings)


def test_legacy_pipe_aggregation_keeps_the_rule_with_a_warning():
    text = RULE.replace("condition: sel", "condition: sel | count() by Computer > 5")
    rules, problems = parse_file(text.encode(), "pipe.yml")
    assert not problems and len(rules) == 1
    assert rules[0].conditions == ["sel | count() by Computer > 5"]
    assert rules[0].condition_tree == [{"ref": "sel"}]  # the part before the pipe stays usable
    assert any("pipe aggregation" in message for _, message in rules[0].warnings)


def test_logsource_list_and_tag_quirks_are_warnings_not_failures():
    text = (
        RULE.replace("product: windows", "product: [windows, linux]")
        + "tags:\n    - attack.Command_and_control\n    - attack.T1071.001\n"
    )
    rules, problems = parse_file(text.encode(), "quirks.yml")
    assert not problems
    assert rules[0].product == "windows"
    assert any("is a list" in message for _, message in rules[0].warnings)
    assert rules[0].tags == ["attack.Command_and_control", "attack.T1071.001"]


def test_non_standard_keys_are_kept_as_other_fields():
    rules, _ = parse_file((RULE + "x_ticket: SOC-42\ncustom:\n    a: 1\n").encode(), "extra.yml")
    assert rules[0].other_fields == {"x_ticket": "SOC-42", "custom": {"a": 1}}
