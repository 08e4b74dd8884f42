"""The rule list's technique facet names each technique once (issue 21, rough edge 1).

The unfiltered list reads its facet counts from the summary table, a technique-filtered list counts
the technique facet without its own filter (again the summary table), a search counts them live:
every route shows "T1059.001 PowerShell", never "T1059.001 T1059.001 PowerShell".
"""

import re

import pytest

pytestmark = pytest.mark.django_db

TECHNIQUE_LABEL = re.compile(r"^(T\d{4}(?:\.\d{3})?) (.+)$")


def technique_labels(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    start = text.index("<h3>Technique</h3>")
    end = text.index("</section>", start)
    return re.findall(r'<span class="facet-label">([^<]*)</span>', text[start:end])


@pytest.mark.parametrize("query", ["", "?technique=T1059.001", "?q=powershell", "?level=high"])
def test_technique_facet_shows_each_id_once(client, example_rules, query):
    labels = technique_labels(client, "/rules/" + query)
    assert labels, "the example rules are tagged with techniques"
    for label in labels:
        match = TECHNIQUE_LABEL.match(label)
        assert match, label
        assert match.group(1) not in match.group(2), f"{label!r} repeats its id"
    if query in ("", "?technique=T1059.001", "?q=powershell"):
        assert "T1059.001 PowerShell" in labels
