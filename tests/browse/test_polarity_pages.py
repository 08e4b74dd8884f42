"""Polarity on the pages and the API: rule page tables, excluded stages, indicator and field pages, similar rules."""

import html
import re
import textwrap

import pytest

from catalog.browse.queries.rule_page import similar_rules
from catalog.importing.importer import import_paths
from catalog.models import Indicator, Rule
from tests.browse.test_polarity_corpus import ADSI_RULE_ID, LSASS_RULE_ID


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def between(text, start, end):
    """The HTML from the marker `start` to the next `end` marker (or the end of the page)."""
    begin = text.index(start)
    stop = text.find(end, begin + len(start))
    return text[begin : stop if stop != -1 else len(text)]


def values_in(fragment):
    return {html.unescape(v) for v in re.findall(r'href="/indicators/\d+/"[^>]*>(?:<code>)?([^<]*)', fragment)}


@pytest.mark.parametrize(
    ("rule_id", "excluded", "looked_for"),
    [
        (LSASS_RULE_ID, ":\\Windows\\Sysmon64.exe", "\\lsass.exe"),
        (ADSI_RULE_ID, "\\LANDesk\\LDCLient\\ldapwhoami.exe", "\\Local\\Microsoft\\Windows\\SchCache\\"),
    ],
)
def test_the_issues_examples_show_their_exclusions_under_excludes(client, corpus, rule_id, excluded, looked_for):
    text = get(client, f"/rules/{rule_id}/")
    looks_for = between(text, ">Looks for</h3>", ">Excludes</h3>")
    excludes = between(text, ">Excludes</h3>", "</section>")
    assert excluded in values_in(excludes) and excluded not in values_in(looks_for)
    assert looked_for in values_in(looks_for) and looked_for not in values_in(excludes)
    if rule_id == ADSI_RULE_ID:  # shares allow-list entries (svchost.exe, OUTLOOK.EXE, ...) with other rules
        assert re.search(r"\d+ rules? excludes? this too", excludes)


def test_excluded_stages_are_marked(client, corpus):
    text = get(client, f"/rules/{LSASS_RULE_ID}/")
    headings = dict(re.findall(r"<h3>Stage \d+: (\w+)(.*?)</h3>", text))
    assert "excluded" in headings["filter_optional_sysmon"] and "excluded" in headings["filter_main_system_user"]
    assert "excluded" not in headings["selection"] and "excluded" not in headings["condition"]


def test_indicator_page_lists_rules_looking_for_and_excluding_apart(client, corpus):
    sysmon = Indicator.objects.get(field="SourceImage", kind="ends_with", value=":\\windows\\sysmon64.exe")
    assert sysmon.exclude_count >= 1
    text = get(client, f"/indicators/{sysmon.pk}/")
    looking = between(text, 'id="rules-h"', 'id="excluding-h"')
    excluding = between(text, 'id="excluding-h"', "</section>")
    assert LSASS_RULE_ID in excluding and LSASS_RULE_ID not in looking
    assert len(set(re.findall(r'href="/rules/([0-9a-f-]{36})/"', excluding))) == sysmon.exclude_count
    assert re.search(rf"{sysmon.exclude_count} live rules? excludes? it", text)


def test_indicator_list_filters_by_polarity(client, corpus):
    text = get(client, "/indicators/?polarity=excludes&field=SourceImage")
    assert '<option value="excludes" selected>' in text and "most excluded first" in text
    rows = re.findall(r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>', text)
    assert rows and all(int(excluded) > 0 for _, excluded in rows)
    assert [int(x) for _, x in rows] == sorted((int(x) for _, x in rows), reverse=True)
    assert ":\\windows\\sysmon64.exe" in {v.casefold() for v in values_in(text)}
    assert get(client, "/indicators/?polarity=sideways", status=400)


def test_field_pages_count_looking_for_and_excluding_apart(client, corpus):
    text = get(client, "/fields/SourceImage/")
    looking, excluding = map(int, re.search(r"(\d+) looks? for a value of it, (\d+) excludes? one", text).groups())
    assert looking > 0 and excluding > 0
    api = get(client, "/api/fields/SourceImage/")
    assert f'"rules_looking":{looking}' in api.replace(" ", "") and f'"rules_excluding":{excluding}' in api.replace(
        " ", ""
    )


def test_similar_rules_show_the_shared_looked_for_indicators(client, corpus):
    rule = Rule.objects.get(uuid=LSASS_RULE_ID)
    mine = set(rule.rule_indicators.exclude(polarity="excludes").values_list("indicator_id", flat=True))
    similar = similar_rules(rule)
    assert similar and all(other["indicators"] for other in similar)
    assert all(ind.pk in mine for other in similar for ind in other["indicators"])
    assert [s["score"] for s in similar] == sorted((s["score"] for s in similar), reverse=True)
    text = get(client, f"/rules/{LSASS_RULE_ID}/")
    assert text.index(">Related rules</h2>") < text.index(">Similar rules</h2>")
    assert "Rarest shared values" in text


SMALL_RULE = """
title: {title}
id: {uuid}
status: test
level: low
logsource: {{category: process_creation, product: windows}}
detection:
    selection:
        CommandLine|contains:
{looked_for}
    filter:
        CommandLine|contains:
            - 'zz-polarity-never'
{excluded}
    condition: selection and not filter
"""


def write_rule(folder, name, uuid, looked_for, excluded=()):
    def items(values):
        return "\n".join(f"            - '{v}'" for v in values)

    text = SMALL_RULE.format(title=name, uuid=uuid, looked_for=items(looked_for), excluded=items(excluded))
    (folder / f"{name}.yml").write_text(textwrap.dedent(text))


def test_similarity_weighs_rare_values_most_and_ignores_exclusions(db, tmp_path):
    ids = {name: f"00000000-0000-4000-8000-{n:012d}" for n, name in enumerate("ABCG")}
    write_rule(tmp_path, "A", ids["A"], ["zz-rare", "zz-common-1", "zz-common-2"])
    write_rule(tmp_path, "B", ids["B"], ["zz-rare"])  # one rare value shared
    write_rule(tmp_path, "C", ids["C"], ["zz-common-1", "zz-common-2"])  # two common values shared
    # 12 more rules look for the two common values: 14 rules each, against 2 for the rare one, so
    # 1/ln(3) = 0.91 for B outweighs 2/ln(15) = 0.74 for C (a plain count of shared values ranks C first).
    for n in range(12):
        write_rule(tmp_path, f"filler{n}", f"00000000-0000-4000-9000-{n:012d}", ["zz-common-1", "zz-common-2"])
    write_rule(tmp_path, "G", ids["G"], ["zz-unrelated"], excluded=["zz-rare", "zz-common-1"])  # excludes only
    report = import_paths([str(tmp_path)], source="similarity")
    assert not report.errors, report.errors
    found = similar_rules(Rule.objects.get(uuid=ids["A"]))
    order = [str(other["uuid"]) for other in found]
    assert order[0] == ids["B"]  # one value 2 rules look for outweighs two values 14 rules look for
    assert ids["C"] in order and ids["G"] not in order
    by_id = {str(other["uuid"]): other for other in found}
    assert (by_id[ids["B"]]["shared"], by_id[ids["C"]]["shared"]) == (1, 2)
    assert [ind.display for ind in by_id[ids["B"]]["indicators"]] == ["zz-rare"]


def test_export_and_api_carry_polarity_and_both_counts(client, export_catalog):
    from tests.constants import FILTER_RULE_ID, TEMPORAL_CORRELATION_ID

    records = export_catalog()
    indicators = [i for record in records.values() for i in record["indicators"]]
    assert indicators and all({"polarity", "corpus_count", "exclude_count"} <= set(i) for i in indicators)
    assert {i["polarity"] for i in indicators} <= {"looks_for", "excludes", "both"}
    predicates = [p for record in records.values() for stage in record["stages"] for p in stage["predicates"]]
    assert predicates and all(p["polarity"] in ("looks_for", "excludes", "both") for p in predicates)
    # The meta-filter (`condition: not selection`) excludes its values from the rules it targets.
    meta_filter = records[FILTER_RULE_ID]["indicators"]
    assert meta_filter and {i["polarity"] for i in meta_filter} == {"excludes"}
    assert all(i["exclude_count"] >= 1 and i["corpus_count"] == 0 for i in meta_filter)
    assert records[TEMPORAL_CORRELATION_ID]["indicators"] == []  # correlations carry none of their own
    api = client.get(f"/api/rules/{FILTER_RULE_ID}/").json()
    assert api["indicators"] == meta_filter
