"""Small helpers for tests of the pure parsing core."""

import textwrap

from catalog.core.sigma.parsing import parse_file


def parse_one(
    detection_yaml: str, extra: str = "", logsource: str = "product: windows\n    category: process_creation"
):
    """Parse a one-rule document built around the given detection body; return the rule."""
    text = (
        "title: Test rule\n"
        "id: 0d0a1b7e-7d7d-4c4c-9a9a-000000000001\n"
        "status: test\n"
        f"logsource:\n    {logsource}\n"
        "detection:\n" + textwrap.indent(textwrap.dedent(detection_yaml).strip("\n"), "    ") + "\n"
        "level: low\n" + extra
    )
    rules, problems = parse_file(text.encode(), "test.yml")
    assert not problems, [str(p) for p in problems]
    assert len(rules) == 1
    return rules[0]


def indicators(detection_yaml: str, **kwargs):
    return [
        (k.field, k.kind, k.value, k.transforms, k.cased, k.display)
        for k in parse_one(detection_yaml, **kwargs).indicators()
    ]
