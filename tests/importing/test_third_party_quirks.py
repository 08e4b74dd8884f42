"""Third-party rule repositories: metadata problems are warnings naming the line, the rule imports.

Each quirk here was seen in public Sigma repositories other than SigmaHQ (vendor and researcher
collections); the files are small ones written for the test, not copies of those rules.
"""

import pytest

from catalog.core.sigma.parsing import parse_file
from catalog.core.sigma.problems import RuleFileError

RULE = """title: Quirk test
id: 0d0a1b7e-7d7d-4c4c-9a9a-00000000a001
status: experimental
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\evil.exe'
    condition: selection
level: high
"""


def parse(text: str, path: str = "vendor/quirk.yml"):
    rules, problems = parse_file(text.encode(), path)
    assert not problems, [str(p) for p in problems]
    assert len(rules) == 1
    return rules[0]


def warning_lines(rule) -> dict[str, int]:
    """Each warning's message -> its line in the file."""
    return {message: rule.doc_line + line - 1 for line, message in rule.warnings}


def warning_at(rule, fragment: str) -> int:
    found = [line for message, line in warning_lines(rule).items() if fragment in message]
    assert found, (fragment, rule.warnings)
    return found[0]


def test_tag_without_namespace_is_kept_with_a_warning():
    rule = parse(RULE + "tags:\n    - sysmon\n    - attack.t1059\n")
    assert rule.tags == ["sysmon", "attack.t1059"]
    assert warning_at(rule, "without a namespace") == 12


@pytest.mark.parametrize("rule_id", ["200014", "androdr-040", "20260702161449Ini"])
def test_non_uuid_id_gets_a_stable_derived_id_and_one_warning(rule_id):
    text = RULE.replace("0d0a1b7e-7d7d-4c4c-9a9a-00000000a001", rule_id)
    first, again = parse(text, "vendor/a.yml"), parse(text, "vendor/a.yml")
    assert first.uuid == again.uuid and first.id_derived
    assert parse(text, "vendor/b.yml").uuid != first.uuid  # derived from the path
    assert warning_at(first, f"id '{rule_id}' is not a UUID") == 2
    assert [m for m in warning_lines(first) if "id" in m and "UUID" in m and first.uuid in m]


def test_empty_id_is_a_missing_id():
    rule = parse(RULE.replace("id: 0d0a1b7e-7d7d-4c4c-9a9a-00000000a001", "id:"))
    assert rule.id_derived and warning_at(rule, "rule has no id") == 1


@pytest.mark.parametrize("key", ["references", "falsepositives"])
def test_references_or_falsepositives_as_a_string(key):
    rule = parse(RULE + f"{key}: one single entry\n")
    assert getattr(rule, key) == ["one single entry"]
    assert warning_at(rule, f"{key} is not a list") == 12


def test_empty_list_entries_are_ignored_with_a_warning():
    rule = parse(RULE + "falsepositives:\n    -\n    - Admin work\n")
    assert rule.falsepositives == ["Admin work"]
    assert warning_at(rule, "empty entries in falsepositives") == 12


@pytest.mark.parametrize(("key", "value"), [("status", "production"), ("level", "severe")])
def test_unknown_status_or_level_is_kept_as_written(key, value):
    rule = parse(RULE.replace("status: experimental", f"status: {value}").replace("level: high", f"level: {value}"))
    assert getattr(rule, key) == value
    assert warning_at(rule, f"'{value}' is not a valid Sigma rule {key}") == (3 if key == "status" else 11)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2021/5/3", "2021-05-03"),
        ("2021.05.03", "2021-05-03"),
        ("20210503", "2021-05-03"),
        ("May 3, 2021", "2021-05-03"),
        ("3 May 2021", "2021-05-03"),
        ("2021-05-03 10:00", "2021-05-03"),
        ("25/12/2021", "2021-12-25"),
        ("12/25/2021", "2021-12-25"),
    ],
)
def test_dates_in_other_formats_are_read_with_a_warning(written, expected):
    rule = parse(RULE + f"date: '{written}'\n")
    assert rule.date.isoformat() == expected
    assert warning_at(rule, f"read as {expected}") == 12


@pytest.mark.parametrize("written", ["03/05/2021", "yesterday", "2021-13-45"])
def test_ambiguous_or_impossible_dates_are_ignored_with_a_warning(written):
    rule = parse(RULE + f"date: {written}\n")  # unquoted: 2021-13-45 looks like a YAML timestamp
    assert rule.date is None
    assert warning_at(rule, "is not a date") == 12


@pytest.mark.parametrize(("value", "text"), [("true", "true"), ("445", "445"), ("1.5", "1.5")])
def test_number_or_boolean_under_contains_is_read_as_text(value, text):
    rule = parse(RULE.replace("Image|endswith: '\\evil.exe'", f"Port|contains: {value}"))
    predicate = rule.stages[1].predicates[0]
    assert predicate.values == [text]
    assert warning_at(rule, "read as text") == 9


def test_logsource_values_as_lists_and_numbers():
    rule = parse(RULE.replace("product: windows", "product: [windows, linux]").replace("process_creation", "7"))
    assert (rule.product, rule.category) == ("windows", "7")
    assert warning_at(rule, "logsource product is a list") == 5
    assert warning_at(rule, "logsource category is not text") == 6


@pytest.mark.parametrize(
    ("logsource", "what"),
    [("", "missing"), ("logsource:\n", "empty"), ("logsource: windows\n", "not a mapping")],
)
def test_missing_or_malformed_logsource_is_a_warning(logsource, what):
    text = RULE.replace("logsource:\n    product: windows\n    category: process_creation\n", logsource)
    rule = parse(text)
    assert rule.logsource == {} and rule.product == ""
    assert any(f"logsource is {what}" in message for _, message in rule.warnings)


def test_missing_title_uses_the_file_name():
    rule = parse(RULE.replace("title: Quirk test\n", ""), "vendor/rules/Kerberoast ticket.yaml")
    assert rule.title == "Kerberoast ticket"
    assert warning_at(rule, "no title") == 1


@pytest.mark.parametrize(("key", "value", "shown"), [("author", "[a, b]", "a, b"), ("name", "5", "5")])
def test_text_fields_of_other_types_are_read_as_text(key, value, shown):
    rule = parse(RULE + f"{key}: {value}\n")
    assert getattr(rule, key) == shown
    assert warning_at(rule, f"{key} is not text") == 12


def test_capitalised_modifier_is_read_in_lower_case():
    rule = parse(RULE.replace("Image|endswith", "Properties|Contains"))
    assert rule.stages[1].predicates[0].modifiers == ["contains"]
    assert warning_at(rule, "modifier 'Contains'") == 9


def test_any_modifier_is_dropped_with_a_warning():
    rule = parse(RULE.replace("Image|endswith: '\\evil.exe'", "CommandLine|contains|any: ['-urlcache', '/transfer']"))
    predicate = rule.stages[1].predicates[0]
    assert predicate.modifiers == ["contains"] and predicate.combine == "any"
    assert warning_at(rule, "'|any' is not a Sigma modifier") == 9


def test_correlation_note_in_a_rule_is_kept_as_a_custom_field():
    rule = parse(RULE + "correlation: correlate TargetLogonId with 4624\n")
    assert rule.rule_type == "rule"
    assert rule.other_fields["x_correlation"] == "correlate TargetLogonId with 4624"
    assert warning_at(rule, "'correlation' is not a correlation block") == 12


def test_unquoted_wildcard_values_starting_with_a_star_are_text():
    values = "\n".join(
        f"            - {v}" for v in ["*iex (new-object)*", "*whoami  # a comment", "'quoted*'", "*net time"]
    )
    rule = parse(RULE.replace("Image|endswith: '\\evil.exe'", "CommandLine:\n" + values))
    assert rule.stages[1].predicates[0].values == ["*iex (new-object)*", "*whoami", "quoted*", "*net time"]
    assert sorted(line for message, line in warning_lines(rule).items() if "reads as an alias" in message) == [
        10,
        11,
        13,
    ]


def test_a_real_alias_stays_an_alias():
    detection = (
        "detection:\n    selection:\n        Image|endswith: &exe '\\evil.exe'\n"
        "    other:\n        ParentImage|endswith: *exe\n    condition: all of them\n"
    )
    rule = parse(RULE.replace(RULE[RULE.index("detection:") : RULE.index("level:")], detection))
    assert [stage.predicates[0].values for stage in rule.stages[1:]] == [["\\evil.exe"], ["\\evil.exe"]]
    assert not [message for message in warning_lines(rule) if "alias" in message]


def test_windows_paths_in_double_quotes_keep_their_backslashes():
    rule = parse(RULE.replace("Image|endswith: '\\evil.exe'", 'Image|endswith: ["\\procdump.exe", "\\rundll32.exe"]'))
    assert rule.stages[1].predicates[0].values == ["\\procdump.exe", "\\rundll32.exe"]
    assert warning_at(rule, "single backslashes") == 9


def test_text_after_the_rule_that_is_not_yaml_is_ignored_with_a_warning():
    query = 'index=* sourcetype="o365:management"  Operation="New-InboxRule"\n| stats count by user\n'
    rule = parse(RULE + "\n" + query)
    assert rule.level == "high"
    assert warning_at(rule, "are not YAML") == 13


def test_broken_yaml_inside_the_rule_is_still_an_error():
    text = RULE.replace("level: high", "garbage line\nlevel: high")
    with pytest.raises(RuleFileError) as info:
        parse_file(text.encode(), "vendor/broken.yml")
    assert info.value.message.startswith("invalid YAML") and info.value.line >= 11


def test_detection_that_cannot_be_parsed_is_still_an_error():
    rules, problems = parse_file(RULE.replace("endswith", "endwith").encode(), "vendor/bad.yml")
    assert rules == [] and [p.line for p in problems] == [9] and "endwith" in problems[0].message


def test_null_under_a_string_modifier_is_a_clear_error():
    rules, problems = parse_file(RULE.replace("'\\evil.exe'", "[a, ~]").encode(), "vendor/null.yml")
    assert rules == []
    assert [(p.line, "null value" in p.message, "0x" in p.message) for p in problems] == [(9, True, False)]
