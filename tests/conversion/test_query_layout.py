"""A converted query laid out on lines for reading (catalog.conversion.layout, issue 21 rough edge 5).

The layout is display only: the lines joined must be pySigma's query byte for byte, for every example rule
and default target, and for any text at all (hypothesis). Lines break only between tokens, never inside
a word or a quoted string, before the operators of a group too long for one line, and keep KQL's own
newline. The rule page and /preview/ render them (tests/conversion/test_e2e_conversion.py checks the
browser: no word split on a phone, and Copy gives the query itself).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.conversion.converter import choose, convert
from catalog.conversion.layout import WIDTH, query_lines
from catalog.conversion.sources import read_rules
from catalog.conversion.stored import limits
from catalog.conversion.targets import DEFAULT_TARGETS
from tests.constants import EXAMPLES

LONG_RULE = """
title: Office spawns a LOLBIN
id: 0e3b7f4c-1d2a-4b5c-8e9f-a0b1c2d3e4f5
logsource: {category: process_creation, product: windows}
detection:
    parent:
        ParentImage|endswith: ['\\WINWORD.EXE', '\\EXCEL.EXE', '\\POWERPNT.exe', '\\MSACCESS.EXE', '\\ONENOTE.EXE']
    child_name:
        OriginalFileName: ['CertUtil.exe', 'Cmd.Exe', 'MSHTA.EXE', 'PowerShell.EXE', 'RUNDLL32.exe', 'wscript.exe']
    child_cli:
        CommandLine|contains|all: ['comsvcs', 'MiniDump', 'full']
    filter_path:
        CommandLine|contains: ' OR "quoted and (not) an operator" AND '
    condition: parent and (child_name or child_cli) and not filter_path
"""


def converted(text: str, target: str) -> str | None:
    return convert(read_rules(text, limits()).rules, choose(target)).query


def joined(lines) -> str:
    return "".join(line.text for line in lines)


def example_queries():
    for path in sorted(EXAMPLES.rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        for target in DEFAULT_TARGETS:
            query = converted(text, target)
            if query:
                yield path.name, target, query


def breaks(query: str, lines) -> list[int]:
    """The offsets in the query where one line ends and the next begins."""
    offsets, at = [], 0
    for line in lines[:-1]:
        at += len(line.text)
        offsets.append(at)
    return offsets


def quoted_spans(query: str) -> list[range]:
    """The "..." strings of a query (backslash escapes), as offset ranges of their insides."""
    return [range(m.start() + 1, m.end() - 1) for m in re.finditer(r'"(?:\\.|[^"\\])*"', query)]


def test_every_example_query_is_given_back_byte_for_byte_and_split_only_between_tokens():
    seen = 0
    for name, target, query in example_queries():
        lines = query_lines(query)
        assert joined(lines) == query, (name, target)
        strings = quoted_spans(query)
        for at in breaks(query, lines):
            before, after = query[at - 1], query[at]
            assert not (before.isalnum() and after.isalnum()), (name, target, query[at - 20 : at + 20])
            assert not any(at in span for span in strings), (name, target, query[at - 20 : at + 20])
        seen += 1
    assert seen > 80  # 29 example files, 5 targets: most convert


# One target per query language (SecurityEvent and ASIM can't convert OriginalFileName: pySigma says why).
@pytest.mark.parametrize("target", ("splunk", "lucene", "esql", "eql", "kusto"))
def test_a_long_query_breaks_before_its_operators_and_opens_its_groups(target):
    query = converted(LONG_RULE, target)
    lines = query_lines(query)
    assert joined(lines) == query
    assert len(lines) > 3
    # Too long for one line: each line fits the width, unless it is one token too long to split.
    for line in lines:
        one_token = line.text.strip().removeprefix("NOT ").removeprefix("not ")  # NOT stays with its operand
        # (Lucene escapes a space inside a value: "\\ " is part of the token.)
        assert line.depth * 2 + len(line.text.rstrip()) <= WIDTH or not re.search(r"(?<!\\) ", one_token)
    # A line after the first starts with an operator or a closing bracket, or goes one level deeper, or
    # goes on with a list of values filled up to the width (after a comma, or an operator joining values).
    operators = ("and ", "or ", "| ", ")", "]", "not ")
    for previous, line in zip(lines, lines[1:], strict=False):
        starts, ended = line.text.casefold(), previous.text.rstrip().casefold()
        # SPL joins top-level terms with a space (an implicit AND): its source/EventCode terms end with one.
        implicit_and = target == "splunk" and previous.text.endswith(" ")
        assert (
            starts.startswith(operators)
            or line.depth != previous.depth
            or ended.endswith((",", " or", " and"))
            or implicit_and
        )


def test_the_quoted_operator_stays_inside_its_string():
    query = converted(LONG_RULE, "splunk")
    lines = query_lines(query)
    quoted = '"* OR \\"quoted and (not) an operator\\" AND *"'
    assert quoted in query
    assert any(quoted in line.text for line in lines)  # whole, on one line


def test_kql_keeps_its_own_newline_and_the_group_depths_indent():
    query = converted(LONG_RULE, "kusto")
    lines = query_lines(query)
    assert query.startswith("DeviceProcessEvents\n| where ")
    assert lines[0].text == "DeviceProcessEvents\n" and lines[1].text.startswith("| where (")
    assert max(line.depth for line in lines) >= 2
    assert {line.indent_class for line in lines} <= {f"q-d{d}" for d in range(13)}


def test_a_short_query_is_one_line_and_an_empty_one_is_kept():
    assert [line.text for line in query_lines('Image="*\\\\net.exe"')] == ['Image="*\\\\net.exe"']
    assert joined(query_lines("")) == ""


def test_lucene_escaped_space_is_no_break():
    query = "process.command_line:(" + " OR ".join(f"*value\\ {n}\\ with\\ spaces*" for n in range(12)) + ")"
    lines = query_lines(query)
    assert joined(lines) == query
    for at in breaks(query, lines):
        assert query[at - 2 : at] != "\\ "  # the space after a backslash is part of the value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*'ab "\\()[]|\n,:=', " AND ", " or ", "  ", "x" * 90]), max_size=200).map("".join))
def test_any_text_is_given_back_exactly(text):
    assert joined(query_lines(text)) == text
