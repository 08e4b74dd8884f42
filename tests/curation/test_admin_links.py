"""The admin rule page shows only http(s) references as links, like the public rule page (issue 8 §6).

A rule file is third-party content: a `javascript:`, `data:` or `vbscript:` reference rendered as a
live link runs script in a curator's admin session the moment it is clicked (only the CSP stopped it).
"""

import json
import re

import pytest

from catalog.importing.importer import import_paths
from catalog.models import Rule

pytestmark = pytest.mark.django_db

RULE_ID = "0d6b7f5e-2b84-4c38-9d54-5c1a6a1e7a01"
HOSTILE = [
    "javascript:alert(document.cookie)",
    " JaVaScRiPt:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "java\tscript:alert(2)",
]
SAFE = "https://example.org/report?a=1&b=2"
LIVE_SCHEMES = ("javascript:", "data:", "vbscript:", "java\tscript:")


def link_targets(html: str) -> list[str]:
    """The href of every link (<a>) on a page, as a browser would read its scheme."""
    return [href.strip().lower() for href in re.findall(r'<a\s[^>]*href="([^"]*)"', html)]


RULE = f"""title: Rule With Hostile References
id: {RULE_ID}
status: test
description: References that must not become links.
references:
{"".join(f"    - {json.dumps(value)}{chr(10)}" for value in [SAFE, *HOSTILE])}author: test
date: 2026-01-01
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\evil.exe'
    condition: selection
level: low
"""


@pytest.fixture
def rule(tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "rule.yml").write_text(RULE, encoding="utf-8")
    report = import_paths([str(folder)], source="hostile")
    assert not report.errors, [str(p) for p in report.errors]
    rule = Rule.objects.get(uuid=RULE_ID)
    assert rule.references == [SAFE, *HOSTILE]
    return rule


def test_the_admin_rule_page_links_only_web_references(client, django_user_model, rule):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    html = client.get(f"/admin/catalog/rule/{rule.pk}/change/").content.decode()
    assert '<a href="https://example.org/report?a=1&amp;b=2" rel="noopener noreferrer">' in html
    assert not [href for href in link_targets(html) if href.startswith(LIVE_SCHEMES)]
    # Still shown, as text, so the curator sees what the rule carries.
    assert "<div>javascript:alert(document.cookie)</div>" in html
    assert "<div>vbscript:msgbox(1)</div>" in html


def test_the_public_rule_page_agrees(client, rule):
    targets = link_targets(client.get(f"/rules/{rule.uuid}/").content.decode())
    assert "https://example.org/report?a=1&amp;b=2" in targets
    assert not [href for href in targets if href.startswith(LIVE_SCHEMES)]
