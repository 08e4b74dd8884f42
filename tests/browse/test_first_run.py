"""The front page of a first run (issue 21, rough edge 9).

After a plain `make run` the catalog holds the example rules alone: the page says they are examples and
names the one command that loads SigmaHQ. Once another source is imported, the notice goes and the
examples stay out of "Recently modified", which they would otherwise fill (their dates are recent).
"""

import re

import pytest

from catalog.importing.importer import import_paths
from catalog.models import EXAMPLES_SOURCE, Rule

pytestmark = pytest.mark.django_db

RULE = """title: Team Rule {n}
id: 00000000-0000-4000-9000-{n:012d}
status: test
date: 2019-01-0{n}
modified: 2019-02-0{n}
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'team-{n}'
    condition: selection
level: low
"""


def front_page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def recent_titles(text: str) -> list[str]:
    start = text.index('id="recent-h"')
    return re.findall(r'<li><a href="/rules/[^"]+/">([^<]+)</a>', text[start : text.index("</ol>", start)])


def test_a_catalog_of_examples_says_so_and_names_the_command_that_loads_sigmahq(client, example_rules):
    text = front_page(client)
    live = Rule.objects.live().count()
    assert ">These are the example rules</h2>" in text
    assert "<code>make sigmahq</code>" in text
    assert f'<span class="stat-number">{live}</span> <span class="stat-label">example rules</span>' in text
    assert f'href="/rules/?source={EXAMPLES_SOURCE}"' in text
    assert len(recent_titles(text)) == 10  # nothing else to show: the examples are the recent rules


def test_beside_another_source_the_examples_leave_the_notice_and_the_recent_rules(client, example_rules, tmp_path):
    folder = tmp_path / "team"
    folder.mkdir()
    for n in range(1, 4):
        (folder / f"rule_{n}.yml").write_text(RULE.format(n=n), encoding="utf-8")
    assert not import_paths([str(folder)], source="team").errors
    text = front_page(client)
    assert "These are the example rules" not in text and "make sigmahq" not in text
    assert '<span class="stat-label">rules</span>' in text
    # The examples were modified years after 2019: by date alone they would fill the list.
    assert recent_titles(text) == ["Team Rule 3", "Team Rule 2", "Team Rule 1"]
    assert "The example rules that come with the catalog are left out here." in text
