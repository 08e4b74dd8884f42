"""The server-rendered pages: content, a rule page section by section, escaping,
404s, bad input, facets, sorting, and a pinned number of SQL queries per page.

Most tests read the example rules of rules/ (always in the test database). The tests that
request `corpus` need SigmaHQ's volume: real corpus counts, more rules than a page holds, and the
query counts, pinned for two subjects of different sizes per page (a small and a large rule,
technique, indicator, ...): equal counts show that no page does a query per row.
"""

import html
import re
import textwrap

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext

from catalog.browse.queries import broad_words, rule_index
from catalog.browse.views import KEPT_RULE_PAGE_QUERIES, RULE_PAGE_QUERIES
from catalog.coverage.profile import parse
from catalog.coverage.runnable import RUNNABLE, class_rules, profile_coverage
from catalog.models import Indicator, Rule, RuleSearch
from catalog.models.rules import SORT_SKIPPED
from catalog.publishing.versioning import bump_version
from tests.constants import (
    BIG_RULE_ID,
    CERTUTIL,
    CERTUTIL_ID,
    CRADLE_ID,
    FILTER_RULE_ID,
    REFERENCE_RULE_ID,
    RELATED_EXAMPLE_ID,
    RELATED_RULE_ID,
)

pytestmark = pytest.mark.django_db
NAV = ["Overview", "Rules", "Indicators", "Fields", "ATT&amp;CK", "Events", "Log sources"]


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def check_page(text, api_href):
    """What every page has: a title, the nav, its JSON twin, the footer notes, no inline style or script."""
    assert re.search(r"<title>[^<]+</title>", text)
    for label in NAV:
        assert f">{label}</a>" in text
    assert f'href="{api_href}"' in text
    assert "Detection Rule License" in text
    assert "MITRE ATT&amp;CK® data © The MITRE Corporation" in text
    assert " style=" not in text and "<style" not in text
    # Scripts only from the site's static files (the Query section's copy button), never inline.
    scripts = re.findall(r"<script[^>]*>", text)
    assert all(re.fullmatch(r'<script src="/static/[\w./-]+" defer>', tag) for tag in scripts), scripts


def section(text, element_id):
    """The HTML of one <section id=...> of a page."""
    start = text.index(f'id="{element_id}"')
    end = text.find("<section", start)
    return text[start : end if end != -1 else len(text)]


def rule_ids_in(text):
    return re.findall(r'href="/rules/([0-9a-f-]{36})/"', text)


# -- a rule page, section by section (the example certutil rule) --------------------------------
def test_rule_page_sections_in_order(client):
    text = get(client, f"/rules/{CERTUTIL_ID}/")
    check_page(text, f"/api/rules/{CERTUTIL_ID}/")
    markers = [
        "Detection rules</a>",
        "›",
        ">Sigma</a>",
        "<h1",
        "Certutil Fetching Remote Content Via URL Cache Or CTL Verification</h1>",
        "Detects certutil.exe being asked to retrieve a remote resource",
        ">MITRE ATT&amp;CK coverage</h2>",
        ">Event coverage</h2>",
        ">Rule body",
        ">Stages and Predicates</h2>",
        "Stage 0: condition",
        "all of selection_*",
        "Stage 1: selection_img",
        "Stage 2: selection_verb",
        "Stage 3: selection_remote",
        ">Indicators</h2>",
        ">Looks for</h3>",
        ">Details</h2>",
        ">Filters and correlations using this rule</h2>",
        ">Related rules</h2>",  # the rule's own `related:` entries, right before the computed similar rules
        ">Similar rules</h2>",
        ">History</h2>",
    ]
    position = 0
    for marker in markers:  # each one after the previous
        found = text.find(marker, position)
        assert found >= 0, f"{marker!r} missing after position {position}"
        position = found + len(marker)
    assert text.find("Stage 0: condition") > text.find(">Stages and Predicates</h2>")
    assert '<a href="/">Detection rules</a>' in text and '<a href="/rules/">Sigma</a>' in text


def test_rule_attack_and_event_rows(client):
    text = get(client, f"/rules/{CERTUTIL_ID}/")
    attack = section(text, "attack")
    assert re.search(
        r'<td><a href="/attack/tactics/command-and-control/">Command and Control</a></td>\s*<td>.*'
        r'href="/attack/T1105/".*T1105.*Ingress Tool Transfer',
        attack,
        re.S,
    )
    events = section(text, "events")
    assert re.search(
        r"<td>Sysmon</td>\s*<td><a href=\"/events/Sysmon/1/\">Event ID 1</a></td>\s*<td>Process creation</td>", events
    )


def test_rule_body_and_stages(client):
    text = get(client, f"/rules/{CERTUTIL_ID}/")
    body = section(text, "body")
    assert 'class="highlight"' in body
    plain = html.unescape(re.sub(r"<[^>]+>", "", body))
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    # the YAML exactly as written, line numbers aside
    assert re.sub(r"^\s*\d+", "", plain, flags=re.M).count("'\\certutil.exe'") == 1
    for line in rule.yaml_text.splitlines():
        assert line in plain
    stages = section(text, "stages")
    assert '<pre class="condition"><code>all of selection_*</code></pre>' in stages
    assert stages.index("Stage 1: selection_img") < stages.index("Stage 2: selection_verb")
    # predicates: field | modifiers | values, with the group of each map
    assert re.search(r"map 1</td>\s*<td><code>Image</code></td>\s*<td><code class=\"modifier\">endswith</code>", stages)
    assert re.search(r"map 2</td>\s*<td><code>OriginalFileName</code></td>", stages)
    assert re.search(r'<code class="modifier">windash</code>\s*<code class="modifier">contains</code>', stages)
    assert '<code class="value">-verifyctl</code>' in stages


def indicator_table(text):
    """{(field, kind): [(value, count, href, css class)]} from the rule page's indicator table."""
    rows = {}
    table = section(text, "indicators")
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        if len(cells) != 3:
            continue
        field = html.unescape(re.sub(r"<[^>]+>", "", cells[0]))
        kind = html.unescape(re.sub(r"<[^>]+>", "", cells[1]))
        values = re.findall(
            r'<a class="ind ([\w-]+)" href="(/indicators/\d+/)"><code>(.*?)</code></a> '
            r'<span class="count"[^>]*>(\d+)</span>',
            cells[2],
        )
        rows[(field, kind)] = [(html.unescape(v), int(n), href, css) for css, href, v, n in values]
    return rows


def test_reference_rule_indicators_carry_their_corpus_counts(client, corpus):
    text = get(client, f"/rules/{REFERENCE_RULE_ID}/")
    assert "Each row is a field, operator, and value that the rule matches." in text
    rows = indicator_table(text)
    assert list(rows) == [
        ("CommandLine", "ends_with"),
        ("CommandLine", "match"),
        ("Image", "ends_with"),
        ("OriginalFileName", "eq"),
    ]
    values = {key: [v for v, *_ in items] for key, items in rows.items()}
    assert values[("Image", "ends_with")] == ["\\net.exe", "\\net1.exe"]
    assert values[("OriginalFileName", "eq")] == ["net.exe", "net1.exe"]
    assert values[("CommandLine", "ends_with")] == [" use", " sessions"]
    assert values[("CommandLine", "match")] == [" use ", " sessions "]
    for items in rows.values():
        for value, count, _href, css in items:
            indicator = Indicator.objects.get(
                rule_indicators__rule__uuid=REFERENCE_RULE_ID, rule_indicators__written=value
            )
            assert count == indicator.corpus_count
            # rare (unique to this rule) and common indicators are told apart by their class
            assert css == ("ind-rare" if count == 1 else "ind-common" if count >= 10 else "ind-shared")
    assert {css for items in rows.values() for *_, css in items} >= {"ind-rare", "ind-common"}


def test_indicator_link_leads_to_rules_carrying_it(client):
    shared = Indicator.objects.filter(field="Image", kind="ends_with", value="\\powershell.exe").get()
    rule = Rule.objects.filter(rule_indicators__indicator=shared).order_by("uuid").first()
    rows = indicator_table(get(client, f"/rules/{rule.uuid}/"))
    [(_value, count, href, css)] = [item for item in rows[("Image", "ends_with")] if item[0] == "\\powershell.exe"]
    assert count == shared.corpus_count == 2 and css == "ind-shared"  # the example rules share it twice
    text = get(client, href)
    check_page(text, "/api" + href)
    assert "\\powershell.exe" in text
    assert f'href="/rules/{rule.uuid}/"' in text
    assert len(set(rule_ids_in(text))) == count  # one row per live rule


def test_rule_metadata_and_links(client):
    text = get(client, f"/rules/{CERTUTIL_ID}/")
    details = section(text, "details")
    assert "Sigma Catalog project" in details and "2026-11-20" in details and "2026-11-28" in details
    assert 'rel="noopener nofollow">https://learn.microsoft.com/en-us/windows-server/administration/' in details
    assert f"rules/{CERTUTIL}" in details
    assert "Administrators manually refreshing certificate revocation data" in details  # false positives


def test_related_rule_is_linked(client):
    related = section(get(client, f"/rules/{RELATED_EXAMPLE_ID}/"), "related")
    assert re.search(
        r'<span class="badge">derived</span> <a href="/rules/4b266451-39f0-4372-92b5-a54a2a80ec71/">'
        r"PowerShell Command Line Carrying A Base64 Encoded Download Cradle</a>",
        related,
    )


def test_related_and_similar_rules(client, corpus):
    text = get(client, f"/rules/{RELATED_RULE_ID}/")
    related = section(text, "related")
    assert "similar" in related and 'href="/rules/bae7c70b-8569-44e9-accf-b30073da8a5d/"' in related
    similar = section(text, "similar")
    assert 'href="/rules/bae7c70b-8569-44e9-accf-b30073da8a5d/"' in similar  # shares its ~1,000 indicators
    assert REFERENCE_RULE_ID not in similar


def test_unresolved_related_id_is_text(client):
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    Rule.objects.filter(pk=rule.pk).update(related=[{"id": "00000000-1111-2222-3333-444444444444", "type": "derived"}])
    related = section(get(client, f"/rules/{CERTUTIL_ID}/"), "related")
    assert "<code>00000000-1111-2222-3333-444444444444</code>" in related and "not in the catalog" in related


def test_filter_and_correlation_rules_link_both_ways(client):
    targets = section(get(client, f"/rules/{FILTER_RULE_ID}/"), "targets")
    assert f'href="/rules/{CERTUTIL_ID}/"' in targets
    involved = section(get(client, f"/rules/{CERTUTIL_ID}/"), "involved")
    assert f'href="/rules/{FILTER_RULE_ID}/"' in involved and "filter" in involved
    # a correlation names its base rules by `name`
    correlation = Rule.objects.filter(source__name="examples", rule_type="correlation").first()
    assert correlation is not None
    targets = section(get(client, f"/rules/{correlation.uuid}/"), "targets")
    assert rule_ids_in(targets)
    base = rule_ids_in(targets)[0]
    involved = section(get(client, f"/rules/{base}/"), "involved")
    assert f'href="/rules/{correlation.uuid}/"' in involved


def test_curation_display(client):
    Rule.objects.filter(uuid=CERTUTIL_ID).update(
        verified=True,
        verified_by="alice",
        note="Tuned for <b>our</b> fleet",
        fp_note="Admins running certutil",
        level_override="low",
    )
    text = get(client, f"/rules/{CERTUTIL_ID}/")
    assert "✓ verified" in text and "alice" in text
    assert "Tuned for &lt;b&gt;our&lt;/b&gt; fleet" in text
    assert "Admins running certutil" in text
    assert "set by a curator; the rule says high" in text


def test_rule_warnings_shown(client):
    Rule.objects.filter(uuid=CERTUTIL_ID).update(warnings=[{"line": 7, "message": "odd <thing>"}])
    warnings = section(get(client, f"/rules/{CERTUTIL_ID}/"), "warnings")
    assert "line 7:" in warnings and "odd &lt;thing&gt;" in warnings


def test_script_in_rule_is_escaped(client, tmp_path):
    from catalog.importing.importer import import_paths

    path = tmp_path / "xss.yml"
    path.write_text(
        textwrap.dedent("""\
        title: <script>alert(1)</script>
        id: 5d6b1d2c-0000-4000-8000-00000000bad1
        status: test
        description: <script>alert(1)</script> and <img src=x onerror=alert(2)>
        references:
            - javascript:alert(3)
        author: <b>mallory</b>
        date: 2024-01-01
        tags:
            - attack.execution
            - attack.t1059
        logsource:
            product: windows
            category: process_creation
        detection:
            selection:
                CommandLine|contains: '<script>alert(4)</script>'
            condition: selection
        level: high
        """),
        encoding="utf-8",
    )
    report = import_paths([str(path)], source="xss")
    assert not report.errors, [str(p) for p in report.errors]
    for url in ["/rules/5d6b1d2c-0000-4000-8000-00000000bad1/", "/rules/?q=alert", "/indicators/?value=alert"]:
        text = get(client, url)
        assert not re.search(r'<script(?! src="/static/)', text), url  # only the site's own script files
        assert "<img" not in text and "<b>mallory" not in text
    text = get(client, "/rules/5d6b1d2c-0000-4000-8000-00000000bad1/")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'href="javascript:' not in text  # a non-web reference is shown as text, never linked


# -- 404 and bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/rules/00000000-0000-0000-0000-000000000000/",
        "/rules/not-a-uuid/",
        "/indicators/999999999/",
        "/fields/NoSuchFieldAnywhere/",
        "/attack/T9999/",
        "/attack/tactics/nope/",
        "/events/Sysmon/99999/",
        "/events/Nobody/any/",
        "/events/Sysmon/abc/",
        "/nowhere/",
    ],
)
def test_unknown_ids_give_404_page(client, url):
    text = get(client, url, status=404)
    assert "Not found" in text and ">Rules</a>" in text


def test_hidden_rule_is_404_and_absent_everywhere(client):
    shared = Indicator.objects.get(field="Image", kind="ends_with", value="\\powershell.exe")  # another rule has it
    urls = ["/rules/?q=cradle", "/attack/T1059.001/", "/events/Sysmon/1/", f"/indicators/{shared.pk}/"]
    assert all(CRADLE_ID in get(client, url) for url in urls)  # listed before it is hidden
    Rule.objects.filter(uuid=CRADLE_ID).update(hidden=True)
    get(client, f"/rules/{CRADLE_ID}/", status=404)
    for url in [*urls, "/rules/?q=cradle&retired=true"]:
        assert CRADLE_ID not in get(client, url), url


@pytest.mark.parametrize(
    "url",
    [
        "/rules/?status=bogus",
        "/rules/?page=abc",
        "/rules/?page=99999",
        "/rules/?sort=nonsense",
        "/rules/?level=extreme&retired=maybe",
        "/rules/?verified=perhaps",
        "/indicators/?kind=nope",
        "/indicators/?min_count=many",
        "/indicators/?page=-1",
        "/fields/Image/?page=x&rules_page=y",
        "/events/Sysmon/1/?page=0",
        "/rules/?q=%00%ff",
        "/fields/?product=nothing",
    ],
)
def test_bad_input_never_500(client, url):
    response = client.get(url)
    assert response.status_code in (200, 400), (url, response.status_code)


def test_bad_filter_value_shows_form_error(client):
    response = client.get("/rules/?status=bogus&level=high")
    assert response.status_code == 400
    text = response.content.decode()
    assert "not understood" in text and "bogus" in text
    live_high = Rule.objects.filter(hidden=False, retired=False, level="high", level_override="").count()
    assert f"<strong>{live_high}</strong> rules" in text  # the valid filter still applies
    response = client.get("/indicators/?kind=nope")
    assert response.status_code == 400 and "not understood" in response.content.decode()


# -- the rule list -------------------------------------------------------------------------------
def facet_counts(text, name):
    """{value: count} of a facet's choices, read from their links."""
    return {
        html.unescape(value): int(count)
        for value, count in re.findall(
            rf'href="\?(?:[^"]*&amp;)?{name}=([^"&]+)[^"]*"[^>]*>'
            rf'<span class="facet-label">[^<]*</span> <span class="facet-count">(\d+)</span>',
            text,
        )
    }


def test_rule_list_search_facets_and_counts(client):
    text = get(client, "/rules/?q=windows")
    check_page(text, "/api/rules/?q=windows")
    live = Rule.objects.filter(hidden=False, retired=False)
    # The search matches whole tokens, stemmed (catalog.search): "windows", "window", "windowed"...
    word = re.compile(r"\bwindow(s|ed|ing)?\b")
    documents = RuleSearch.objects.filter(rule__in=live).values_list("rule_id", "ident", "title", "body", "extra")
    matching = {pk for pk, *columns in documents if word.search(" ".join(columns))}
    assert len(matching) > 2 and f"<strong>{len(matching)}</strong> rules" in text
    statuses = facet_counts(text, "status")
    assert len(statuses) > 1 and sum(statuses.values()) == len(matching)
    for status, count in statuses.items():
        assert count == live.filter(pk__in=matching, status=status).count()
    for name in ["level", "product", "category", "tactic", "technique", "tag", "author", "source", "retired"]:
        assert facet_counts(text, name), name
    persisting = live.filter(pk__in=matching, tactics__shortname="persistence").distinct().count()
    assert facet_counts(text, "tactic")["persistence"] == persisting > 0
    # a choice's link adds the filter and keeps the search; the count is what it leads to
    assert 'href="?q=windows&amp;status=test"' in text
    text = get(client, "/rules/?q=windows&status=test")
    assert f"<strong>{statuses['test']}</strong> rules" in text
    assert 'class="active-filters"' in text and 'href="?q=windows"' in text  # removable


def test_rule_list_pagination(client, generated_rules):
    generated_rules(100)
    live = {str(uuid) for uuid in Rule.objects.filter(hidden=False, retired=False).values_list("uuid", flat=True)}
    pages = [rule_ids_in(get(client, f"/rules/?page={n}")) for n in range(1, 4)]
    assert [len(ids) for ids in pages] == [50, 50, len(live) - 100]
    assert len({i for ids in pages for i in ids}) == len(live) and set().union(*pages) == live  # no overlap, no gap


def test_rule_list_sort(client, corpus):
    def levels(url):
        return re.findall(r'<td class="rule-level"><span class="level level-(\w+)">', get(client, url))

    rank = ["informational", "low", "medium", "high", "critical"].index
    assert set(levels("/rules/?sort=-level")) == {"critical"}
    ascending = [rank(level) for level in levels("/rules/?sort=level")]
    assert ascending[0] == 0 and ascending == sorted(ascending)
    descending = [rank(level) for level in levels("/rules/?sort=-level&page=4")]
    assert descending == sorted(descending, reverse=True) and len(set(descending)) == 2  # critical -> high
    titles = [
        html.unescape(t)
        for t in re.findall(r'<td class="rule-title"><a href="[^"]+">([^<]*)</a>', get(client, "/rules/?sort=title"))
    ]
    # Lower case, leading punctuation skipped (issue 21): ".Class Extension URI Ending Request" sorts under C.
    assert len(titles) == 50 and titles == sorted(titles, key=lambda t: t.lstrip(SORT_SKIPPED).lower())
    dates = re.findall(r'<td class="nowrap">(\d{4}-\d\d-\d\d)</td>', get(client, "/rules/?sort=-modified"))
    assert len(dates) == 50 and dates == sorted(dates, reverse=True)  # undated rules come last
    oldest = Rule.objects.filter(hidden=False, retired=False).order_by("date", "sort_title", "pk").first()
    assert rule_ids_in(get(client, "/rules/?sort=date"))[0] == str(oldest.uuid)
    combined = get(client, "/rules/?technique=T1059&tactic=execution&sort=-level")  # joins + DISTINCT + sort
    combined_levels = [rank(level) for level in levels("/rules/?technique=T1059&tactic=execution&sort=-level")]
    assert (
        combined_levels[0] == 4 and combined_levels == sorted(combined_levels, reverse=True) and rule_ids_in(combined)
    )
    Rule.objects.filter(uuid=REFERENCE_RULE_ID).update(level_override="critical")
    bump_version()  # what every write path does (the lists read the rule index of the catalog version)
    assert REFERENCE_RULE_ID in get(client, "/rules/?q=net.exe+sessions&sort=-level")
    assert "level-critical" in get(client, "/rules/?q=net.exe+sessions&level=critical")


def test_retired_rules_hidden_unless_asked(client):
    assert CERTUTIL_ID in get(client, "/rules/?q=certutil+urlcache")
    Rule.objects.filter(uuid=CERTUTIL_ID).update(retired=True)
    bump_version()  # what every write path does (the lists read the rule index of the catalog version)
    assert CERTUTIL_ID not in get(client, "/rules/?q=certutil+urlcache")
    assert CERTUTIL_ID in get(client, "/rules/?q=certutil+urlcache&retired=true")
    text = get(client, f"/rules/{CERTUTIL_ID}/")
    assert "Retired rule." in text and 'class="banner banner-retired"' in text
    retired_facet = facet_counts(get(client, "/rules/?q=certutil+urlcache"), "retired")
    assert retired_facet.get("true") == 1


# -- the other pages -------------------------------------------------------------------------------
def test_overview(client):
    text = get(client, "/")
    check_page(text, "/api/")
    live = Rule.objects.filter(hidden=False, retired=False).count()
    assert f'<span class="stat-number">{live}</span> <span class="stat-label">example rules</span>' in text  # issue 21
    assert 'action="/rules/"' in text and 'name="q"' in text
    assert 'href="/attack/tactics/command-and-control/">Command and Control</a>' in text
    assert ">Recently modified</h2>" in text and len(rule_ids_in(section(text, "recent-h"))) == 10


def test_indicator_search(client):
    text = get(client, "/indicators/?field=Image&kind=ends_with&value=.EXE")
    check_page(text, "/api/indicators/?field=Image&amp;kind=ends_with&amp;value=.EXE")
    assert '<option value="Image" selected>' in text
    found = [html.unescape(v) for _, v in re.findall(r'href="/indicators/(\d+)/"><code>([^<]*)</code>', text)]
    assert "\\certutil.exe" in found and "\\powershell.exe" in found and "certutil.exe" not in found
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>\s*<td class="num">\d+</td>', text)]
    assert len(counts) > 10 and counts == sorted(counts, reverse=True)  # looked-for counts, most first


def test_fields_pages(client):
    text = get(client, "/fields/")
    check_page(text, "/api/fields/")
    assert 'href="/fields/CommandLine/"' in text and 'href="/fields/-keywords-/"' in text
    text = get(client, "/fields/?product=windows&category=process_creation")
    assert 'href="/fields/CommandLine/"' in text and 'href="/fields/eventName/"' not in text
    text = get(client, "/fields/Image/")
    check_page(text, "/api/fields/Image/")
    assert "\\certutil.exe" in text and "process_creation" in text and CERTUTIL_ID in rule_ids_in(text)
    text = get(client, "/fields/-keywords-/")
    check_page(text, "/api/fields/-keywords-/")
    assert "(keywords)" in text and rule_ids_in(text)


def test_attack_pages(client):
    text = get(client, "/attack/")
    check_page(text, "/api/attack/")
    heads = re.findall(r'<h2 class="matrix-head"><a href="/attack/tactics/([\w-]+)/">', text)
    from catalog.core.reference.attack import TACTIC_ORDER

    assert heads[: len(TACTIC_ORDER)] == list(TACTIC_ORDER) and heads[-1] == "defense-evasion"
    assert re.search(r'class="cell heat-[1-4]">\s*<a href="/attack/T1105/">', text)
    assert re.search(r'class="cell heat-0">', text)
    text = get(client, "/attack/T1105/")
    check_page(text, "/api/attack/T1105/")
    assert "Ingress Tool Transfer" in text and CERTUTIL_ID in text
    response = client.get("/attack/t1105/")  # ids are case-insensitive: one canonical address
    assert response.status_code == 301 and response["Location"] == "/attack/T1105/"
    text = get(client, "/attack/T1059/")
    assert 'href="/attack/T1059.001/"' in text  # sub-techniques, whose rules count for the parent
    text = get(client, "/attack/tactics/command-and-control/")
    check_page(text, "/api/attack/tactics/command-and-control/")
    assert 'href="/attack/T1105/"' in text
    c2 = Rule.objects.filter(hidden=False, retired=False, tactics__shortname="command-and-control")
    assert c2.count() > 1 and f"<strong>{c2.count()}</strong> rules" in text
    assert set(rule_ids_in(text)) == {str(uuid) for uuid in c2.values_list("uuid", flat=True)}


def test_event_pages(client):
    text = get(client, "/events/")
    check_page(text, "/api/events/")
    assert re.search(
        r'href="/events/Sysmon/1/">Event ID 1</a></td><td>Process creation</td><td class="num">\d+</td>', text
    )
    assert "any event</a>" in text
    text = get(client, "/events/Sysmon/1/")
    check_page(text, "/api/events/Sysmon/1/")
    # The rules Sysmon 1 runs: the detection rules of its log source carrying every field they look for,
    # the runnable rules of /coverage/ for a profile of that one event (tests/test_event_taxonomy.py: every event).
    runnable = class_rules(profile_coverage(parse("sysmon:1")), RUNNABLE)
    sysmon_1 = Rule.objects.filter(hidden=False, retired=False, events__provider="Sysmon", events__event_id=1)
    assert "Process creation" in text and CERTUTIL_ID in rule_ids_in(text)
    assert sorted(set(rule_ids_in(text))) == sorted(str(uuid) for uuid in runnable.values_list("uuid", flat=True))
    assert set(rule_ids_in(text)) <= {str(uuid) for uuid in sysmon_1.values_list("uuid", flat=True)}
    channel = re.search(r'href="(/events/[^"]+/any/)"', get(client, "/events/")).group(1)
    assert "any event" in get(client, channel)
    assert "A service was installed in the system" in get(client, "/events/System/7045/")


def test_logsources_page(client):
    text = get(client, "/logsources/")
    check_page(text, "/api/logsources/")
    assert 'href="/rules/?product=windows&amp;category=process_creation&amp;"' in text


# -- the query budget of every page -----------------------------------------------------------------
# Pages showing kept fragments (catalog.platform.fragments) read the catalog version: the page cache reads it
# when it is on (the tests turn it off), and leaves it for them.
VERSION = 1
# A page with a rule table reads its rules' ids first: the rows kept for this catalog version are not read
# again (catalog.browse.rule_rows); the others are read as before (the rules, their techniques).
ROW_IDS = 1
PAGES = [
    # (name, two URLs of different sizes, queries)
    # totals, tactics, recent rules and their techniques; the totals and counts from the summary tables.
    ("overview", ["/"], 4),
    # The page's rows and their techniques. The list's count and its facets (those in use counted without their
    # own filter: values of a facet are OR-ed) come from the rule index of the catalog version
    # (catalog.browse.queries.rule_index: built once per version and process, warmed below), keyed by the
    # version the page reads anyway. 6 + VERSION + ROW_IDS before: a GROUP BY per facet in use and the count.
    (
        "rule list",
        ["/rules/?level=high&tactic=execution", "/rules/?level=low&tactic=discovery&page=2"],
        2 + VERSION + ROW_IDS,
    ),
    # A search adds its matches' ids from the full-text index and the snippets of the page's rules
    # (catalog.search.snippets: one query for the page's rules, whatever the number of matches). 7 + 2 before.
    (
        "rule search",
        [
            "/rules/?q=powershell&level=high&tactic=execution&sort=-modified&page=2",
            "/rules/?q=lsass+procdump&level=high&tactic=credential-access",
        ],
        4 + VERSION + ROW_IDS,
    ),
    # A search in relevance order past one page scores only the rules its page can come from
    # (catalog.search.top_k): its exact answers, the titles holding its words, their scores (3 queries).
    (
        "broad search",
        ["/rules/?q=powershell&page=2", "/rules/?q=file+exe&page=2"],
        7 + VERSION + ROW_IDS,
    ),
    # Words many titles hold (catalog.browse.queries.broad_words): their titled rules come from their champion
    # lists, not a query each, and a one-word search's matches and scores too (the exact answers and page remain).
    (
        "kept-word search",
        ["/rules/?q=suspicious+execution&page=3", "/rules/?q=via+potential&page=2"],
        6 + VERSION + ROW_IDS,
    ),
    (
        "one kept word",
        ["/rules/?q=via&page=2", "/rules/?q=suspicious&page=3"],
        4 + VERSION + ROW_IDS,
    ),
    # The count the view documents (catalog.browse.views.RULE_PAGE_QUERIES, 14): rule_page()'s 12 (similar
    # rules' rarest shared indicators, issue 9; "Tested by N logged events", issue 13), the history's 1 and
    # the Query section's cached conversion (warmed first). Its templates make none (checked below). Once
    # rendered for this catalog version, its parts are kept: the rule and the conversion (KEPT_RULE_PAGE_QUERIES).
    (
        "rule page",
        [f"/rules/{REFERENCE_RULE_ID}/", f"/rules/{BIG_RULE_ID}/", f"/rules/{RELATED_RULE_ID}/"],
        RULE_PAGE_QUERIES + VERSION,
    ),
    ("indicator search", ["/indicators/", "/indicators/?field=CommandLine&kind=match&value=use"], 3),
    ("indicator page", ["IND:\\net.exe", "IND: sessions"], 6),  # 4 before two lists (looks for / excludes)
    ("fields", ["/fields/", "/fields/?product=windows"], 3 + VERSION),
    # 6 before: both lists' counts come with the field's summary row (catalog.publishing.summaries), one query.
    ("field page", ["/fields/Image/", "/fields/AccountName/"], 5 + VERSION + ROW_IDS),
    ("ATT&CK matrix", ["/attack/"], 3 + VERSION),  # 5 before the shared techniques_with_counts()
    # 8, then 5 before (the list's count: summary)
    ("technique page", ["/attack/T1049/", "/attack/T1059/"], 4 + VERSION + ROW_IDS),
    ("tactic page", ["/attack/tactics/discovery/", "/attack/tactics/execution/"], 4 + VERSION + ROW_IDS),  # 7, 5
    ("events", ["/events/"], 1 + VERSION),
    # 4 before (the list's count: summary)
    ("event page", ["/events/Sysmon/1/", "/events/AppLocker/8003/"], 3 + VERSION + ROW_IDS),
    ("log sources", ["/logsources/"], 1 + VERSION),
]


def queries_while_rendering(client, url) -> list[str]:
    """The SQL run from the moment the page's first template starts rendering: what its tags and
    templates asked for (they should only format what the view gives them)."""
    marks: list[int] = []

    def rendering(sender, **kwargs):
        if not marks:
            marks.append(len(captured.captured_queries))

    template_rendered.connect(rendering)
    try:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
    finally:
        template_rendered.disconnect(rendering)
    assert marks, f"{url} rendered no template"
    return [q["sql"] for q in captured.captured_queries[marks[0] :]]


@pytest.mark.parametrize("name,urls,queries", PAGES, ids=[p[0] for p in PAGES])
def test_query_count_is_constant(client, corpus, examples, django_assert_num_queries, name, urls, queries):
    """Same count for a small and a large subject, and again after the catalog grew by a source."""
    from catalog.importing.importer import import_paths

    def check():
        for url in urls:
            if url.startswith("IND:"):
                indicator = Indicator.objects.filter(display=url[4:]).order_by("-corpus_count").first()
                url = f"/indicators/{indicator.pk}/"
            if name == "rule page":
                client.get(url)  # a first view converts the rule's query and caches it: count the cached view
                caches["fragments"].clear()  # ... rendered afresh
            rule_index.current()  # built once per catalog version and process (like the compiled matcher)
            broad_words.KEPT.current()  # the champion lists: the same
            with django_assert_num_queries(queries):  # the whole request: view, templates, middleware
                response = client.get(url)
            assert response.status_code == 200, url
            if name == "rule page":
                with django_assert_num_queries(KEPT_RULE_PAGE_QUERIES + VERSION):  # its parts kept
                    assert client.get(url).content == response.content, url
                assert not queries_while_rendering(client, url), url
                caches["fragments"].clear()
                assert not queries_while_rendering(client, url), url

    check()
    assert not import_paths([str(examples)], source="examples").errors
    check()


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/rules/?q=certutil&status=test",
        f"/rules/{CERTUTIL_ID}/",
        "/indicators/?field=Image",
        "/fields/",
        "/fields/Image/",
        "/fields/-keywords-/",
        "/attack/",
        "/attack/T1105/",
        "/attack/tactics/command-and-control/",
        "/events/",
        "/events/Sysmon/1/",
        "/events/System/7045/",
        "/logsources/",
    ],
)
def test_json_twin_link_answers(client, url):
    twin = re.search(r'<p class="json-twin"><a href="([^"]+)"', get(client, url)).group(1)
    response = client.get(html.unescape(twin))
    assert response.status_code == 200, twin
    assert response["Content-Type"].startswith("application/json"), twin


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/rules/?retired=maybe", "/rules/?verified=x", "/api/rules/?retired=maybe"])
def test_bad_boolean_filters_are_reported_not_ignored(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert b"true or false" in response.content


def streamed(response) -> str:
    """The body of a streamed export (the rule list's exports stream: issue 10)."""
    return b"".join(response.streaming_content).decode()


def streamed_json(response):
    import json

    return json.loads(streamed(response))


@pytest.mark.django_db
def test_navigator_layer_scores_techniques_by_rule_count(client):
    from catalog.models import Rule

    layer = streamed_json(client.get("/attack/navigator.json"))
    assert layer["domain"] == "enterprise-attack" and layer["versions"]["layer"] == "4.5"
    scores = {t["techniqueID"]: t["score"] for t in layer["techniques"]}
    expected = Rule.objects.filter(hidden=False, retired=False, techniques__technique_id="T1078").distinct().count()
    assert scores["T1078"] == expected > 1
    high = streamed_json(client.get("/attack/navigator.json?level=high"))
    filtered = {t["techniqueID"]: t["score"] for t in high["techniques"]}
    assert sum(filtered.values()) < sum(scores.values())
    assert client.get("/attack/navigator.json?level=bogus").status_code == 400


@pytest.mark.django_db
def test_rules_csv_follows_the_list_filters_and_defuses_formulas(client, examples):
    import csv
    import io

    from catalog.importing.importer import import_paths

    (examples / "formula.yml").write_text(
        "title: '=HYPERLINK(\"http://evil\")'\n"
        "id: 0d0a1b7e-7d7d-4c4c-9a9a-0000000000cc\n"
        "logsource:\n    product: windows\n"
        "detection:\n    sel:\n        A: b\n    condition: sel\n"
        "level: low\n"
    )
    import_paths([str(examples)], source="ex")
    rows = list(csv.reader(io.StringIO(streamed(client.get("/rules/export.csv?tactic=persistence")))))
    assert rows[0][:4] == ["id", "title", "status", "level"]
    listed = client.get("/api/rules/?tactic=persistence").json()["count"]
    assert len(rows) - 1 == listed > 1
    text = streamed(client.get("/rules/export.csv?q=hyperlink"))
    assert "'=HYPERLINK" in text


@pytest.mark.django_db
def test_non_standard_keys_are_shown_as_other_fields(client, example_rules):
    rule = example_rules.get(other_fields__has_key="x_internal_ticket")
    content = client.get(f"/rules/{rule.uuid}/").content.decode()
    assert "Other fields" in content and "x_internal_ticket" in content
    assert str(rule.other_fields["x_internal_ticket"]) in content
