"""What the server-rendered pages offer to act on (issue 14), read from their HTML (example rules).

Sort links whose first click puts the most severe and the newest first; an empty result that
offers to drop the last filter and to search the indicators; a rule's YAML shown once (the full
body collapsible, each stage's block collapsed under its predicates); labelled search landmarks;
an empty indicator value that is never an empty link.
"""

import re

import pytest

from catalog.models import Indicator, Rule
from tests.constants import CERTUTIL_ID

pytestmark = pytest.mark.django_db


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def sort_links(text):
    return dict(re.findall(r'<a href="\?(?:[^"]*&amp;)?sort=(-?\w+)"[^>]*>(\w+)', text))


def test_first_click_sorts_level_and_dates_descending_title_ascending(client):
    links = {label: key for key, label in sort_links(get(client, "/rules/")).items()}
    assert links == {"title": "title", "level": "-level", "date": "-date", "modified": "-modified"}
    # the second click turns the order round
    text = get(client, "/rules/?sort=-level")
    assert re.search(r'<a href="\?sort=level" aria-current="true">level <span aria-hidden="true">↓</span>', text)
    text = get(client, "/rules/?sort=-level&tactic=execution")
    assert 'href="?sort=-date&amp;tactic=execution"' in text or 'href="?tactic=execution&amp;sort=-date"' in text


def test_empty_result_offers_to_drop_the_last_filter_and_search_indicators(client):
    text = get(client, "/rules/?tactic=execution&level=informational&q=certutil")
    assert "<strong>0</strong> rules" in text and "No rules match." in text
    # the filter added last (q, the last parameter) is the one offered for dropping
    assert re.search(
        r'<a href="\?tactic=execution&amp;level=informational">without <span class="filter-name">q:</span>', text
    )
    assert 'href="/indicators/?value=certutil"' in text
    assert 'class="facet-panel"' not in text  # no empty facet box
    assert 'class="sort-links"' not in text and 'class="rules-table"' not in text
    assert '<a href="/rules/">Clear all filters</a>' in text  # two or more filters are active

    text = get(client, "/rules/?q=certutil&level=informational")  # now level came last
    assert re.search(r'<a href="\?q=certutil">without <span class="filter-name">level:</span> informational', text)
    text = get(client, "/rules/?q=no-rule-says-this")
    assert '<a href="?">without <span class="filter-name">q:</span> no-rule-says-this</a>' in text
    assert "Clear all filters" not in text


def test_facets_are_a_filters_disclosure_open_without_javascript(client):
    text = get(client, "/rules/?level=high")
    assert '<details class="facet-panel" open data-narrow-closed>' in text  # catalog.js closes it on phones
    assert re.search(
        r'<summary class="facet-toggle">Filters <span class="facet-toggle-count">\(1 active\)</span>', text
    )
    assert text.index('class="facet-panel"') < text.index('class="rules-table"')  # above the results on phones


def test_rule_yaml_shown_once_and_stage_blocks_collapsed(client):
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    text = get(client, f"/rules/{CERTUTIL_ID}/")
    # The body: collapsible, open for a short rule, with its copy and download buttons.
    assert re.search(r'<details class="rule-yaml" open>\s*<summary>The rule as written \(\d+ lines\)</summary>', text)
    assert '<button type="button" class="copy-button" data-copy-code="rule-yaml" hidden>Copy YAML</button>' in text
    assert f'<a class="action-link" href="/rules/{CERTUTIL_ID}/rule.yml" download>Download .yml</a>' in text
    # Each named stage: the predicates table, then its block as written, collapsed.
    stages = text[text.index('id="stages"') : text.index('id="indicators"')]
    for number in range(1, rule.stages.count()):
        block = stages[stages.index(f"Stage {number}:") :]
        assert block.index('class="predicates"') < block.index('<details class="stage-yaml"><summary>')
    assert '<details class="stage-yaml" open' not in stages
    assert stages.count('<details class="stage-yaml">') == rule.stages.count() - 1  # stage 0 is the condition


def test_long_rule_yaml_starts_collapsed(client, tmp_path):
    from catalog.importing.importer import import_paths

    selections = "\n".join(f"    - 'value-{n}'" for n in range(90))
    (tmp_path / "long.yml").write_text(
        "title: A long rule\nid: 2f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f11\nlogsource:\n  product: windows\n"
        f"detection:\n  keywords:\n{selections}\n  condition: keywords\n",
        encoding="utf-8",
    )
    assert not import_paths([str(tmp_path)], source="long").errors
    text = get(client, "/rules/2f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f11/")
    assert re.search(r'<details class="rule-yaml">\s*<summary>The rule as written \(9\d lines\)</summary>', text)


def test_search_landmarks_are_labelled(client):
    for url in ("/", "/rules/"):
        forms = re.findall(r'<form[^>]*role="search"[^>]*>', get(client, url))
        labels = [re.search(r'aria-label="([^"]+)"', form) for form in forms]
        assert len(forms) == 2 and all(labels), forms
        assert len({label.group(1) for label in labels}) == 2  # told apart


def test_an_empty_indicator_value_is_named(client, tmp_path):
    from catalog.importing.importer import import_paths

    (tmp_path / "empty.yml").write_text(
        "title: Empty value probe\nid: 2f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f12\nlogsource:\n  product: windows\n"
        "detection:\n  selection:\n    EmptyProbeField: ''\n  condition: selection\n",
        encoding="utf-8",
    )
    assert not import_paths([str(tmp_path)], source="empty").errors
    indicator = Indicator.objects.get(field="EmptyProbeField", kind="eq")
    assert indicator.display == ""
    empty_link = re.compile(
        r'<a class="ind [\w-]+" href="/indicators/\d+/">\s*</a>|<a class="ind[^>]*><code></code></a>'
    )
    for url in (
        "/rules/2f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f12/",
        "/indicators/?field=EmptyProbeField",
        "/fields/EmptyProbeField/",
    ):
        text = get(client, url)
        assert f'href="/indicators/{indicator.pk}/"><em class="empty-value">empty string</em></a>' in text, url
        assert not empty_link.search(text), url
    text = get(client, f"/indicators/{indicator.pk}/")
    assert '<em class="empty-value">empty string</em>' in text


def test_matrix_offers_a_tactic_by_tactic_jump_list(client):
    text = get(client, "/attack/")
    assert '<nav class="tactic-jump" aria-label="Tactics">' in text
    for shortname in re.findall(r'<a class="chip" href="#tactic-([\w-]+)">', text):
        assert f'<section class="matrix-col" id="tactic-{shortname}">' in text
    assert 'aria-describedby="matrix-cue"' in text and 'id="matrix-cue"' in text
