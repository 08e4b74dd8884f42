"""/preview/ renders a pasted rule as its rule page will show it once imported (issue 21, rough edge 3).

Before, a pasted rule's excluded value sat in the one table headed by the rules that "already look for
it", and no Similar rules section named the near-duplicates of the catalog. Now the preview is built and
rendered by the rule page's own code (catalog.browse.queries.rule_sections, templates/browse/_rule_*.html):
a stored rule pasted as it is gives the same sections as its page, a draft's exclusions are in Excludes,
and its similar rules are named, weighed as the rule page weighs them.
"""

import re
import uuid
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.importing import preview_sections
from catalog.models import Indicator, Rule
from tests.constants import EXAMPLES

REG_SAVE = "windows/process_creation/proc_creation_win_reg_save_credential_hives.yml"
REG_SAVE_ID = "70bc29bc-ec61-4894-b898-d611155739f3"  # Registry Credential Hives Exported Via Reg.EXE
SECTIONS = ("attack", "events", "stages", "indicators", "related", "similar")

DRAFT = """title: Draft Hive Dump
id: {id}
status: experimental
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\reg.exe'
        CommandLine|contains|all:
            - ' save '
            - 'hklm\\sam'
    filter_installer:
        ParentImage|endswith: '\\msiexec.exe'
    condition: selection and not filter_installer
tags:
    - attack.credential-access
    - attack.t1003.002
level: high
"""


def preview(client, text: str) -> str:
    response = client.post("/preview/", {"yaml": text})
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}"')
    depth, at = 0, start
    for match in re.finditer(r"<(/?)section\b", html[start:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            at = start + match.end()
            break
    return html[start : html.index(">", at) + 1]


def as_rule_page(html: str, prefix: str) -> str:
    """A preview section with the rule page's ids and heading levels (the preview holds several rules)."""
    html = html.replace(f'"{prefix}', '"').replace(f"{prefix}", "")
    return re.sub(r"<(/?)h([34])", lambda m: f"<{m.group(1)}h{int(m.group(2)) - 1}", html)


def squeezed(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


def values_of(table_html: str) -> list[str]:
    """The values of an indicator table, as written."""
    found = re.findall(r'class="ind [^"]*"[^>]*>(.*?)</(?:a|span)>', table_html)
    return [unescape(re.sub(r"<[^>]+>", "", value)) for value in found]


@pytest.mark.django_db
def test_a_stored_rule_pasted_as_it_is_has_its_pages_sections(client, example_rules):
    """The same code: section by section, the preview of the stored YAML is the rule page, counts included."""
    page = client.get(f"/rules/{REG_SAVE_ID}/").content.decode()
    pasted = preview(client, (EXAMPLES / REG_SAVE).read_text(encoding="utf-8"))
    for name in SECTIONS:
        shown = as_rule_page(section(pasted, f"rule-1-{name}"), "rule-1-")
        shown = shown.replace(" (Registry Credential Hives Exported Via Reg.EXE)", "")  # the predicates' region label
        expected = section(page, name)
        if name == "events":  # the rule page adds its logged test events
            expected = re.sub(r'<p class="tested-by">.*?</p>', "", expected, flags=re.S)
        assert squeezed(shown) == squeezed(expected), name


@pytest.mark.django_db
def test_a_drafts_exclusion_is_in_excludes_and_its_near_duplicate_is_named(client, example_rules):
    html = preview(client, DRAFT.format(id=uuid.uuid4()))
    indicators = section(html, "rule-1-indicators")
    looks_for = indicators[: indicators.index('id="rule-1-excludes-h"')]
    excludes = indicators[indicators.index('id="rule-1-excludes-h"') :]
    assert "\\msiexec.exe" in values_of(excludes) and "\\msiexec.exe" not in values_of(looks_for)
    assert {"\\reg.exe", " save ", "hklm\\sam"} <= set(values_of(looks_for))
    assert 'filter_installer <span class="badge badge-excluded"' in section(html, "rule-1-stages")
    # Counted as they will be once the draft is imported: the catalog's rules and the draft.
    reg = Indicator.objects.get(field="Image", kind="ends_with", value="\\reg.exe")
    assert f'title="rules looking for this indicator">{reg.corpus_count + 1}</span>' in looks_for
    assert 'title="0 other rules exclude this too">1</span>' in excludes  # no catalog rule excludes it yet
    similar = section(html, "rule-1-similar")
    titles = re.findall(r'<td><a href="/rules/([0-9a-f-]{36})/">', similar)
    assert titles and titles[0] == REG_SAVE_ID  # the stored rule it nearly duplicates, first
    assert "\\msiexec.exe" not in similar  # exclusions make no rule similar


@pytest.mark.django_db
def test_preview_queries_are_bounded_by_the_rules_pasted(client, example_rules):
    """Catalog reads (the rate limit's shared cache aside): 3 per paste, 2 per rule's similar rules, for
    at most SIMILAR_FOR rules, however many documents one paste holds."""

    def reads(text: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            preview(client, text)
        catalog = [q["sql"] for q in queries if '"catalog_' in q["sql"] and "catalog_shared_cache" not in q["sql"]]
        return len(catalog)

    one = reads(DRAFT.format(id=uuid.uuid4()))
    two = reads("---\n".join(DRAFT.format(id=uuid.uuid4()) for _ in range(2)))
    many = reads("---\n".join(DRAFT.format(id=uuid.uuid4()) for _ in range(preview_sections.SIMILAR_FOR + 3)))
    assert one == 3 + 2
    assert two == 3 + 2 * 2
    assert many == 3 + 2 * preview_sections.SIMILAR_FOR
    html = preview(client, "---\n".join(DRAFT.format(id=uuid.uuid4()) for _ in range(preview_sections.SIMILAR_FOR + 3)))
    assert html.count(f"Similar rules are looked up for the first {preview_sections.SIMILAR_FOR} rules") == 3


@pytest.mark.django_db
def test_comsvcs_draft_names_its_near_duplicate_and_excludes_msiexec(client, corpus):
    """The case of the issue, on SigmaHQ: a comsvcs MiniDump draft with an installer filter."""
    text = DRAFT.replace("'\\reg.exe'", "'\\rundll32.exe'").replace("' save '", "'comsvcs'")
    text = text.replace("'hklm\\sam'", "'MiniDump'")
    html = preview(client, text.format(id=uuid.uuid4()))
    indicators = section(html, "rule-1-indicators")
    excludes = indicators[indicators.index('id="rule-1-excludes-h"') :]
    assert values_of(excludes) == ["\\msiexec.exe"]
    msiexec = Indicator.objects.get(field="ParentImage", kind="ends_with", value="\\msiexec.exe")
    others = msiexec.exclude_count  # the draft excludes it too
    assert f'>{others + 1}</span> <span class="muted">{others} rules exclude' in excludes
    similar = re.findall(r'<td><a href="/rules/[0-9a-f-]{36}/">(.*?)</a>', section(html, "rule-1-similar"))
    comsvcs = Rule.objects.get(uuid="646ea171-dded-4578-8a4d-65e9822892e3")  # Process Memory Dump Via Comsvcs.DLL
    assert similar[0] == comsvcs.title
