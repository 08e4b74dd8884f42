"""One bad file gives a clear `path:line: problem`, never a crash, a hang or a misleading message.

Inputs that used to take minutes to hours (quadratic or exponential matching) run in a child
process with a generous bound: the bound only catches a hang, the time itself is printed, not
asserted. Inputs that used to crash the interpreter also run in a child process, so a crash fails
the test instead of the test run.
"""

import codecs
import json
import subprocess
import sys
import textwrap
import time

import pytest
from sigma.exceptions import SigmaError, SigmaRuleLocation

from catalog.core.sigma.parsing import parse_file
from catalog.core.sigma.problems import Problem, RuleFileError, error_message, source_line

RULE = """title: Hardening
id: 0d0a1b7e-7d7d-4c4c-9a9a-00000000b001
logsource:
    product: windows
detection:
    sel:
        Image|endswith: '\\x.exe'
    condition: sel
"""
HANG_BOUND = 60  # seconds; every input below finishes in well under one


def error_of(data: bytes) -> RuleFileError:
    with pytest.raises(RuleFileError) as info:
        parse_file(data, "bad.yml")
    return info.value


def parse_in_child(data: bytes, tmp_path) -> dict:
    """Parse in a fresh interpreter: {"rules", "problems", "error", "warnings", "seconds"}."""
    source = tmp_path / "input.yml"
    source.write_bytes(data)
    script = textwrap.dedent(
        f"""
        import json, sys, time
        sys.path.insert(0, {str(sys.path[0])!r})
        from catalog.core.sigma.parsing import parse_file
        from catalog.core.sigma.problems import RuleFileError
        data = open({str(source)!r}, "rb").read()
        started = time.perf_counter()
        try:
            rules, problems = parse_file(data, "input.yml")
            result = {{"rules": len(rules), "problems": [str(p) for p in problems], "error": None,
                       "warnings": [(r.doc_line + line - 1, m) for r in rules for line, m in r.warnings]}}
        except RuleFileError as exc:
            result = {{"rules": 0, "problems": [], "error": [exc.line, exc.message], "warnings": []}}
        result["seconds"] = time.perf_counter() - started
        print(json.dumps(result))
        """
    )
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG_BOUND, cwd=sys.path[0]
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"parsing did not finish within {HANG_BOUND} s")
    assert done.returncode == 0, f"the parser process died (exit {done.returncode}): {done.stderr[-500:]}"
    result = json.loads(done.stdout)
    print(f"parsed {len(data):,} bytes in {result['seconds']:.3f} s (child {time.perf_counter() - started:.2f} s)")
    return result


# --- issue 8, section 2: one bad file, a clear error ---


def test_null_block_name_is_an_error_naming_its_line():
    for condition in ("sel", "1 of *"):
        text = RULE.replace("    condition: sel", f"    ~:\n        F: v\n    condition: {condition}")
        rules, problems = parse_file(text.encode(), "null.yml")
        assert rules == []
        assert [(p.line, "null name" in p.message) for p in problems] == [(8, True)]


def test_compact_nesting_a_thousand_deep_is_rejected_with_its_line():
    error = error_of((RULE + "custom:\n" + "- " * 1000 + "x\n").encode())
    assert "nesting deeper than 64 levels" in error.message and error.line == 10


def test_compact_nesting_a_hundred_thousand_deep_does_not_crash_the_process(tmp_path):
    result = parse_in_child((RULE + "custom:\n  " + "- " * 100_000 + "x\n").encode(), tmp_path)
    assert result["error"][0] == 10 and "nesting deeper" in result["error"][1]


def test_alias_chain_deeper_than_the_limit_is_rejected_without_recursion():
    chain = "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 3000))
    error = error_of((RULE + "a0: &a0 [x]\n" + chain).encode())
    assert "nesting deeper than" in error.message and error.line == 1


# --- issue 8, section 3: linear line lookup and wildcard matching ---


def test_blank_lines_then_a_bad_id_warn_with_the_right_line(tmp_path):
    text = "title: Blank\n" + "\n" * 400_000 + "description: x\n" + RULE.replace("title: Hardening\n", "")
    text = text.replace("0d0a1b7e-7d7d-4c4c-9a9a-00000000b001", "bad")
    result = parse_in_child(text.encode(), tmp_path)
    assert [line for line, message in result["warnings"] if "'bad' is not a UUID" in message] == [400_003]


def test_many_document_separators(tmp_path):
    result = parse_in_child(("---\n" * 150_000 + RULE).encode(), tmp_path)
    assert result["rules"] == 1 and not result["problems"]


def test_wildcard_selector_is_matched_in_linear_time(tmp_path):
    name = "a" * 60
    text = RULE.replace("    sel:", f"    {name}:").replace("condition: sel", "condition: 1 of " + "a*" * 14 + "b")
    result = parse_in_child(text.encode(), tmp_path)
    # A condition that cannot be parsed is an error of the rule (tests/matching/test_messy_rules.py), found quickly.
    assert result["rules"] == 0
    assert any("matches no detection" in problem for problem in result["problems"])


def test_wildcard_selector_still_selects():
    text = RULE.replace("condition: sel", "condition: 1 of s*l") + "    other:\n        A: b\n"
    text = text.replace("    other:", "    other:").replace(
        "condition: 1 of s*l\n    other:", "condition: 1 of s*l\n    sxxl:"
    )
    rules, _ = parse_file(text.encode(), "sel.yml")
    assert rules[0].condition_tree == [{"op": "or", "args": [{"ref": "sel"}, {"ref": "sxxl"}], "selector": "1 of s*l"}]


def test_pipe_aggregation_after_a_long_run_of_spaces(tmp_path):
    text = RULE.replace("condition: sel", "condition: sel" + " " * 200_000 + "and sel | count() > 5")
    result = parse_in_child(text.encode(), tmp_path)
    assert result["rules"] == 1 and any("pipe aggregation" in m for _, m in result["warnings"])


def test_block_texts_are_cut_at_their_names():
    text = RULE.replace("    sel:", "    'quoted: name':").replace("condition: sel", "condition: all of them")
    text += "    plain name with spaces:\n        A: b\n"
    rules, problems = parse_file(text.encode(), "names.yml")
    assert not problems
    assert [(s.name, s.text.splitlines()[0]) for s in rules[0].stages[1:]] == [
        ("quoted: name", "'quoted: name':"),
        ("plain name with spaces", "plain name with spaces:"),
    ]


# --- issue 8, section 6: duplicate keys, UTF-16, one line per problem ---


def test_duplicate_keys_warn_with_line_and_key():
    text = RULE.replace("        Image|endswith: '\\x.exe'\n", "        Image|endswith: a\n        Image|endswith: b\n")
    rules, problems = parse_file(text.encode(), "dup.yml")
    assert not problems
    assert rules[0].stages[1].predicates[0].values == ["b"]  # YAML loaders keep the last value
    assert [(line, "duplicate key 'Image|endswith'" in m) for line, m in rules[0].warnings] == [(8, True)]


def test_duplicate_keys_in_the_second_document_name_their_file_line():
    second = RULE.replace("title: Hardening", "title: Second\ntitle: Again").replace("b001", "b002")
    rules, _ = parse_file((RULE + "---\n" + second).encode(), "dup2.yml")
    assert rules[1].title == "Again"
    assert [rules[1].doc_line + line - 1 for line, m in rules[1].warnings if "duplicate key 'title'" in m] == [11]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(codec):
    mark = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    rules, problems = parse_file(mark + RULE.replace("Hardening", "Härdening").encode(codec), "u16.yml")
    assert not problems and rules[0].title == "Härdening"
    assert any("UTF-16" in message for _, message in rules[0].warnings)


def test_utf16_without_a_byte_order_mark_is_named():
    error = error_of(RULE.encode("utf-16-le"))
    assert "UTF-16" in error.message and "binary" not in error.message


def test_nul_byte_is_still_binary():
    error = error_of(b"title: x\n\x00\x01\x02")
    assert "binary" in error.message and error.line == 2


@pytest.mark.parametrize(
    "broken",
    [
        "title: x\ndetection:\n\tsel: a\n",  # a tab as indentation
        "title: x\ndetection:\n  sel: [unclosed\n  condition: sel\nlevel: low\n",
        "title: 'unterminated\nlevel: low\n",
        "a: b\n c: d\n",
    ],
)
def test_yaml_errors_are_one_line_each(broken):
    error = error_of(broken.encode())
    problem = Problem("bad.yml", error.line, error.message)
    assert error.message.startswith("invalid YAML") and "\n" not in str(problem)
    assert "<unicode string>" not in error.message


def test_problems_are_always_one_line():
    assert str(Problem("a.yml", 3, "first\n  second\n")) == "a.yml:3: first second"


# --- issue 7: locations from pySigma's error.source, not from its message text ---


def test_error_message_and_line_come_from_the_exception_not_its_text():
    error = SigmaError("Detection is empty", source=SigmaRuleLocation("rules/x.yml", line=12, char=3))
    assert str(error).endswith(":12:3")  # pySigma appends the location to the text ...
    assert error_message(error) == "Detection is empty"  # ... which is read from the exception instead
    assert source_line(error) == 12
    assert source_line(SigmaError("no location")) is None


def test_rule_level_error_in_a_later_document_points_at_that_document():
    second = "title: No detection\nlogsource:\n    product: windows\n"
    rules, problems = parse_file((RULE + "---\n" + second).encode(), "two.yml")
    assert len(rules) == 1
    assert [(p.line, "detection" in p.message) for p in problems] == [(10, True)]
