"""/coverage/ as a page (issue 21, rough edge 6): presets, what the summary and the tables say about missing
fields, blind spots by platform, the biggest blind spot in one sentence, tokens, shareable URLs, queries.

The probe rules of tests/coverage/test_coverage.py (Windows process_creation and process_access, Security
4624, Linux auditd) and, where named, SigmaHQ. Page numbers are read from the HTML as a visitor sees them.
"""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from catalog.coverage import presets
from catalog.coverage.profile import Profile, from_sysmon_config, parse
from catalog.coverage.sysmon_config import SYSMON_ELEMENTS
from tests.coverage.test_coverage import EXAMPLE, IDS, probes  # noqa: F401 (the probe rules fixture)

ONLY_4688 = "events=security:4688"
ROW = re.compile(r'<tr><td><code class="token">(.*?)</code></td><td>.*?</td><td class="num">(\d+)</td>')
GAP = re.compile(r'<span class="gap" data-token="([^"]+)" data-rules="(\d+)">')
SUMMARY_GAP = re.compile(
    r'<li data-token="([^"]+)">.*?<strong class="gap-rules">(\d+)</strong>.*?'
    r'<span class="gap-partial">(\d+)</span>.*?<span class="gap-runnable">(\d+)</span>',
    re.S,
)


def page(client, query: str) -> str:
    response = client.get(f"/coverage/?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def section(html: str, element_id: str, end: str = "</table>") -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index(end, start)]


def count(html: str, element_id: str) -> int:
    return int(re.search(rf'id="{element_id}">(\d+)<', html).group(1))


def table(html: str, element_id: str) -> str:
    """A table's rows, with those past the first ten (in a second table behind a disclosure)."""
    more = f"{element_id}-more"
    return section(html, element_id) + (section(html, more) if f'id="{more}"' in html else "")


def table_rules(html: str, element_id: str) -> int:
    return sum(int(m.group(2)) for m in ROW.finditer(table(html, element_id)))


def table_gaps(html: str) -> dict[str, int]:
    """Per collected event, the rules the two tables list it lacking fields for."""
    found = {}
    for element_id in ("runnable-table", "partial-table"):
        for token, rules in GAP.findall(table(html, element_id)):
            found[token] = found.get(token, 0) + int(rules)
    return found


def summary_gaps(html: str) -> dict[str, tuple[int, int, int]]:
    block = section(html, "gap-summary", "</ul>") if 'id="gap-summary"' in html else ""
    return {token: tuple(map(int, numbers)) for token, *numbers in SUMMARY_GAP.findall(block)}


def check_agreement(client, query: str) -> tuple[dict, dict]:
    """The summary's statements about missing fields are the tables' and the API's."""
    html = page(client, query)
    counts = client.get(f"/api/coverage/?{query}&rules=0").json()["counts"]
    assert count(html, "count-partial") == counts["partial"] == table_rules(html, "partial-table")
    assert count(html, "count-runnable") == counts["runnable"] == table_rules(html, "runnable-table")
    said, listed = summary_gaps(html), table_gaps(html)
    assert {token: rules for token, (rules, _, _) in said.items()} == listed
    for rules, partial, runnable in said.values():
        assert rules == partial + runnable and partial <= counts["partial"]
    return said, counts


# -- "0 runnable with missing fields" beside a table of the fields 4688 lacks ------------------------------
def test_4688_alone_the_summary_and_the_tables_agree_on_missing_fields(client, probes):  # noqa: F811
    said, counts = check_agreement(client, ONLY_4688)
    # 4688 is the only way in: every rule it lacks fields for is runnable with missing fields, and back.
    assert list(said) == ["security:4688"] and said["security:4688"] == (counts["partial"], counts["partial"], 0)
    partial = client.get(f"/api/coverage/?{ONLY_4688}").json()["rules"]["partial"]
    assert {"id": IDS["ofn"], "via": ["security:4688"], "missing": ["OriginalFileName"]} in [
        {key: entry[key] for key in ("id", "via", "missing")} for entry in partial
    ]


def test_with_sysmon_1_the_fields_4688_lacks_are_said_to_run_through_sysmon(client, probes):  # noqa: F811
    said, counts = check_agreement(client, EXAMPLE)
    rules, partial, runnable = said["security:4688"]
    assert partial == 0 and runnable == rules >= 1  # e.g. the OriginalFileName probe, run by Sysmon 1
    assert "0</span> of them run with missing fields" in page(client, EXAMPLE)


def test_on_sigmahq_4688_alone_with_sysmon_1_and_with_two_presets(client, corpus):
    said, counts = check_agreement(client, ONLY_4688)
    assert counts["partial"] > 300 and said["security:4688"][1] == counts["partial"]  # the only way in
    said, counts = check_agreement(client, "events=sysmon:1,security:4688")
    rules, partial, runnable = said["security:4688"]
    assert counts["partial"] == partial == 0 and runnable == rules > 300  # Sysmon 1 runs them all
    # A big profile: its tables show their ten biggest rows, the rest behind a disclosure, and still agree.
    swift, baseline = (p for p in presets.PRESETS if p.slug in ("swiftonsecurity", "audit-baseline"))
    query = Profile(swift.profile.events | baseline.profile.events).query()
    assert 'id="runnable-table-more"' in page(client, query)
    check_agreement(client, query)


# -- presets ----------------------------------------------------------------------------------------------
def sysmon_xml(filters: dict[str, str]) -> str:
    """A configuration of the given shape: a rule under each logging type, an empty include for the others."""
    groups = []
    for element, mode in filters.items():
        inner = '<Image condition="end with">x.exe</Image>' if mode == presets.LOGS else ""
        groups.append(f'<RuleGroup groupRelation="or"><{element} onmatch="include">{inner}</{element}></RuleGroup>')
    return f'<Sysmon schemaversion="4.90"><EventFiltering>{"".join(groups)}</EventFiltering></Sysmon>'


@pytest.mark.parametrize(
    "slug,filters", [("swiftonsecurity", presets.SWIFTONSECURITY), ("sysmon-modular", presets.SYSMON_MODULAR)]
)
def test_a_sysmon_preset_is_what_the_config_reader_makes_of_its_filters(slug, filters):
    preset = next(p for p in presets.PRESETS if p.slug == slug)
    assert from_sysmon_config(sysmon_xml(filters)).events == preset.profile.events


def test_presets_say_which_events_they_enable():
    by_slug = {p.slug: {event_id for _, event_id in p.events} for p in presets.PRESETS}
    assert {7, 9, 10}.isdisjoint(by_slug["swiftonsecurity"]) and {1, 3, 11, 13, 22} <= by_slug["swiftonsecurity"]
    assert {7, 10} <= by_slug["sysmon-modular"] and 9 not in by_slug["sysmon-modular"]
    assert by_slug["sysmon-all"] == {None}
    assert 4688 not in by_slug["windows-default"] and {4624, 4625, 4672, 4720, 1102} <= by_slug["windows-default"]
    assert by_slug["windows-default"] < by_slug["audit-baseline"] and {4688, 4776, 4697} <= by_slug["audit-baseline"]
    assert set(presets.SYSMON_MODULAR) == set(SYSMON_ELEMENTS)  # every element is decided, none forgotten


def test_the_unfiltered_page_offers_presets_and_a_submit_button_before_the_boxes(client, probes):  # noqa: F811
    html = page(client, "")
    links = re.findall(r'<li><a href="(/coverage/\?events=[^"]+)">([^<]+)</a>', section(html, "preset-list", "</ul>"))
    assert [name for _, name in links] == [p.name for p in presets.PRESETS]
    form = section(html, "profile-form", "</form>")
    assert form.index('type="submit"') < form.index('type="checkbox"')
    assert '<details class="profile-picker" open>' in html


def test_a_preset_url_is_named_ticked_and_survives_the_form(client, probes):  # noqa: F811
    baseline = next(p for p in presets.PRESETS if p.slug == "audit-baseline")
    url = re.search(r'href="(/coverage/\?events=[^"]+)">Microsoft audit baseline<', page(client, "")).group(1)
    query = urlsplit(unescape(url)).query
    values = parse_qs(query)["events"]  # repeated: one value would pass the 1000 characters a value may have
    assert len(values) == 2 and parse(values).events == baseline.profile.events
    html = page(client, query)
    assert unescape(re.search(r'href="/coverage/\?([^"]+)" id="share-link"', html).group(1)) == query
    assert "You collect: <strong>Microsoft audit baseline</strong>." in html
    ticked = set(re.findall(r'name="events" value="([^"]+)" checked', html))
    assert ticked == {f"security:{event_id}" for _, event_id in baseline.events}  # the form sends it back whole
    assert '<details class="profile-picker">' in html  # collapsed once a profile is chosen
    # "+ add" joins a Sysmon configuration to it, and the page names both.
    add = re.search(r'class="preset-add" href="([^"]+)">\+&nbsp;add<span class="visually-hidden"> Swift', html)
    both = page(client, urlsplit(unescape(add.group(1))).query)
    names = "<strong>SwiftOnSecurity sysmon-config</strong> + <strong>Microsoft audit baseline</strong>"
    assert f"You collect: {names}." in both


# -- blind spots, biggest first ---------------------------------------------------------------------------
def test_blind_spots_of_a_windows_profile_put_other_platforms_aside(client, probes):  # noqa: F811
    html = page(client, EXAMPLE)
    yours = section(html, "blind-list", "</ol>")
    elsewhere = section(html, "blind-elsewhere", "</details>")
    assert ">T1003.001<" in yours and ">T1070.002<" not in yours  # lsass (windows) vs auditd (linux)
    assert ">T1070.002<" in elsewhere and re.search(r"\d+ on platforms you don't collect: [^<]*\blinux \d+", elsewhere)
    assert "platforms you collect (windows)" in html
    # The Linux profile sees it the other way round.
    html = page(client, "logsources=linux::auditd")
    assert ">T1003.001<" in section(html, "blind-elsewhere", "</details>")


def test_the_biggest_blind_spot_is_one_sentence_on_top_of_add_next(client, corpus):
    html = page(client, ONLY_4688)
    first = client.get(f"/api/coverage/?{ONLY_4688}&rules=0").json()["add_next"][0]
    sentence = re.sub(r"<[^>]+>", "", section(html, "next-best", "</p>"))
    assert first["token"] == "sysmon:1"
    assert f"adding Sysmon 1 (Process creation) would let {first['rules']} more rules run" in sentence
    assert f"and cover {len(first['techniques'])} techniques you are blind to." in sentence
    assert html.index('id="next-best"') < html.index('id="next-list"')


# -- tokens, shareable URLs, queries -----------------------------------------------------------------------
def test_tokens_break_only_after_their_colons_and_are_escaped():
    rendered = Template("{% load token_tags %}{{ t|token }}").render(Context({"t": "windows:<b>&:"}))
    assert rendered == '<code class="token">windows:<wbr>&lt;b&gt;&amp;:<wbr></code>'


def test_shared_urls_keep_their_parameters(client, probes):  # noqa: F811
    joined = page(client, "events=sysmon:1&events=security:4688&logsources=linux::auditd")
    assert 'value="sysmon:1" checked' in joined and 'value="linux::auditd" checked' in joined
    assert page(client, "events=security:4688,sysmon:1&logsources=linux::auditd").count(" checked") == joined.count(
        " checked"
    )
    assert '<details class="matrix-details" id="matrix-details" open>' in page(client, f"{EXAMPLE}&uncovered=1")
    assert '<details class="matrix-details" id="matrix-details">' in page(client, EXAMPLE)


@pytest.mark.parametrize("query", ["", ONLY_4688, EXAMPLE + "&logsources=linux::auditd&uncovered=1", "events=sysmon:*"])
def test_the_page_costs_two_queries_whatever_the_profile(client, probes, query):  # noqa: F811
    page(client, query)  # the first reads each need's ways in once per process (catalog.coverage.runnable)
    with CaptureQueriesContext(connection) as queries:
        page(client, query)
    assert len(queries) == 2, [q["sql"][:80] for q in queries]  # the need signatures, the saved profiles
