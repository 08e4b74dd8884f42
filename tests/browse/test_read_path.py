"""One read path: every public page and its /api/ twin are built by the same query function.

Each pair below names the catalog.browse/queries function(s) both views must call. The test wraps each
function with a recording spy in its module (where the views and the other query functions look
it up), requests both URLs and asserts that each request went through it: a view that grows its
own query instead fails here. The rules are written by the test itself (no SigmaHQ corpus).

Also here: the read path spells visibility only through Rule.objects.public()/live() and
catalog.models.live_rules_q/public_rules_q, and indicators that only hidden or retired rules carry
are not listed (issue 8).
"""

import functools
import re
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from catalog.browse.queries import attack, events, fields, indicators, overview, rule_page, rules
from catalog.changes import queries as changes
from catalog.conversion import stored as conversion_stored
from catalog.coverage import runnable as telemetry_coverage
from catalog.importing.importer import import_paths
from catalog.matching import rule_events as rule_test_events
from catalog.models import Indicator, Rule
from catalog.publishing.visibility import set_visibility

ROOT = Path(__file__).resolve().parents[2]  # the repository
LIVE_ID = "6f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f01"
HIDDEN_ID = "6f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f02"
RETIRED_ID = "6f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f03"

RULE = """\
title: Read path probe {name}
id: {id}
status: test
level: high
description: A rule written by tests/browse/test_read_path.py.
author: test_read_path
date: 2026-01-01
modified: 2026-01-02
tags:
  - attack.command-and-control
  - attack.t1105
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    Image|endswith: '\\readpathprobe.exe'
    ReadPathProbe|contains: 'readpath-{name}-only'
  condition: selection
"""


@pytest.fixture
def probe(db, tmp_path):
    """Three rules sharing one indicator, each with one of its own; one then hidden, one retired."""
    folder = tmp_path / "probe"
    folder.mkdir()
    for name, rule_id in (("live", LIVE_ID), ("hidden", HIDDEN_ID), ("retired", RETIRED_ID)):
        (folder / f"{name}.yml").write_text(RULE.format(name=name, id=rule_id), encoding="utf-8")
    report = import_paths([str(folder)], source="read-path-probe")
    assert not report.errors, [str(p) for p in report.errors]
    set_visibility(Rule.objects.filter(uuid=HIDDEN_ID), hidden=True)
    set_visibility(Rule.objects.filter(uuid=RETIRED_ID), retired=True)
    live = Rule.objects.get(uuid=LIVE_ID)
    event = live.events.order_by("provider", "event_id").first()
    assert event is not None, "process_creation maps to a log event"

    def own(name):
        return Indicator.objects.get(field="ReadPathProbe", value=f"readpath-{name}-only")

    return SimpleNamespace(
        rule=live,
        event=(event.provider, "any" if event.event_id is None else str(event.event_id)),
        shared=Indicator.objects.get(field="Image", value="\\readpathprobe.exe"),
        live_only=own("live"),
        hidden_only=own("hidden"),
        retired_only=own("retired"),
    )


# (subject, HTML path, API path, [(module, function)] both must call); paths get the probe.
PAIRS = [
    (
        "rules",
        lambda p: "/rules/?tag=attack.t1105",
        lambda p: "/api/rules/?tag=attack.t1105",
        [(rules, "filtered_rules")],
    ),
    ("rule", lambda p: f"/rules/{LIVE_ID}/", lambda p: f"/api/rules/{LIVE_ID}/", [(rule_page, "public_rule")]),
    (
        "indicators",
        lambda p: "/indicators/?value=readpath",
        lambda p: "/api/indicators/?value=readpath",
        [(indicators, "searched_indicators"), (indicators, "listed_indicators")],
    ),
    (
        "indicator",
        lambda p: f"/indicators/{p.shared.pk}/",
        lambda p: f"/api/indicators/{p.shared.pk}/",
        [(indicators, "indicator_rules")],
    ),
    ("fields", lambda p: "/fields/", lambda p: "/api/fields/", [(fields, "field_counts")]),
    (
        "field",
        lambda p: "/fields/ReadPathProbe/",
        lambda p: "/api/fields/ReadPathProbe/",
        [(fields, "field_logsources")],
    ),
    ("techniques", lambda p: "/attack/", lambda p: "/api/attack/", [(attack, "techniques_with_counts")]),
    ("technique", lambda p: "/attack/T1105/", lambda p: "/api/attack/T1105/", [(attack, "techniques_with_counts")]),
    ("tactics", lambda p: "/attack/", lambda p: "/api/attack/tactics/", [(attack, "tactics_with_counts")]),
    (
        "tactic",
        lambda p: "/attack/tactics/command-and-control/",
        lambda p: "/api/attack/tactics/command-and-control/",
        [(attack, "tactic_named"), (attack, "tactic_techniques")],
    ),
    ("events", lambda p: "/events/", lambda p: "/api/events/", [(events, "events_with_counts")]),
    (
        "event",
        lambda p: "/events/{}/{}/".format(*p.event),
        lambda p: "/api/events/{}/{}/".format(*p.event),
        [(events, "event_type"), (events, "event_rules")],
    ),
    ("logsources", lambda p: "/logsources/", lambda p: "/api/logsources/", [(events, "logsource_counts")]),
    ("quality", lambda p: "/", lambda p: "/api/quality/", [(overview, "quality_rows")]),  # rule quality by source
    ("changes", lambda p: "/changes/", lambda p: "/api/changes/", [(changes, "changes_page_data")]),
    (
        "rule test events",  # issue 13: the logged events that test a rule, explained
        lambda p: f"/rules/{LIVE_ID}/test-events/",
        lambda p: f"/api/rules/{LIVE_ID}/test-events/",
        [(rule_test_events, "rule_test_events")],
    ),
    (
        "coverage",  # telemetry coverage (issue 12): its API lives in config/urls.py, beside /api/match/
        lambda p: "/coverage/?events=sysmon:1,security:4688",
        lambda p: "/api/coverage/?events=sysmon:1,security:4688",
        [(telemetry_coverage, "profile_coverage")],
    ),
    (
        "rule query",  # the rule page's Query section and its JSON
        lambda p: f"/rules/{LIVE_ID}/?target=kusto",
        lambda p: f"/api/rules/{LIVE_ID}/query/?target=kusto",
        [(conversion_stored, "rule_query")],
    ),
]


def record_calls(monkeypatch, module, name, calls: list):
    """Replace module.name by a wrapper that notes each call and returns what the original returns."""
    original = getattr(module, name)

    @functools.wraps(original)
    def recording(*args, **kwargs):
        calls.append(f"{module.__name__}.{name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)


@pytest.mark.parametrize("subject,html,api,functions", PAIRS, ids=[pair[0] for pair in PAIRS])
def test_page_and_api_twin_use_the_same_query(client, probe, monkeypatch, subject, html, api, functions):
    calls: list[str] = []
    for module, name in functions:
        record_calls(monkeypatch, module, name, calls)
    expected = {f"{module.__name__}.{name}" for module, name in functions}
    for url in (html(probe), api(probe)):
        calls.clear()
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected <= set(calls), f"{url} did not call {sorted(expected - set(calls))}"


def api_route_names() -> set[str]:
    """`feature:name` of every /api/ route, from each feature's urls.py as config/urls.py includes them."""
    from django.urls import get_resolver
    from django.urls.resolvers import URLResolver

    names = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace and entry.namespace != "admin":
            names |= {f"{entry.namespace}:{p.name}" for p in entry.url_patterns if str(p.pattern).startswith("api/")}
    return names


def test_every_api_listing_has_a_pair():
    """A new /api/ endpoint gets a row in PAIRS (or a reason it has no HTML twin)."""
    # The API's index, its OpenAPI document and its Swagger UI (/api/docs/); the installed conversion
    # targets (listed on rule pages); POST /api/convert/, whose page /preview/ is a form; the match endpoints,
    # POSTed events and uploads whose pages are forms (tests/test_match_*.py compare them).
    without_twin = {
        "browse:api-root",
        "platform:api-schema",
        "platform:api-docs",
        "conversion:api-targets",
        "conversion:api-convert",
        "matching:api-match",
        "matching:api-upload",
        "matching:api-job",
        "importing:source-webhook",  # a forge's push, not something a page shows
    }
    covered = {
        "browse:api-rule-list": "rules",
        "browse:api-rule-detail": "rule",
        "browse:api-indicator-list": "indicators",
        "browse:api-indicator-detail": "indicator",
        "browse:api-field-list": "fields",
        "browse:api-field-detail": "field",
        "browse:api-technique-list": "techniques",
        "browse:api-technique-detail": "technique",
        "browse:api-tactic-list": "tactics",
        "browse:api-tactic-detail": "tactic",
        "browse:api-event-list": "events",
        "browse:api-event-detail": "event",
        "browse:api-logsource-list": "logsources",
        "browse:api-quality": "quality",
        "conversion:api-rule-query": "rule query",
        "matching:api-rule-test-events": "rule test events",
        "coverage:api": "coverage",
        "changes:api-list": "changes",
    }
    assert api_route_names() - without_twin == set(covered), "add the new endpoint and its page to PAIRS"
    assert set(covered.values()) == {pair[0] for pair in PAIRS}


# -- visibility is spelled in one place ---------------------------------------------------------
READ_PATH = [
    "catalog/browse",
    "catalog/changes",
    "catalog/exports",
    "catalog/matching",
    "catalog/conversion",
    "catalog/search",
    "catalog/coverage",
]
# `hidden=False`, `rule__retired=True`, `{"rules__hidden": False}`: a visibility rule written out by hand.
RAW_VISIBILITY = re.compile(r"(\b|__)(hidden|retired)[\"']?\s*[=:]\s*(False|True)\b")


def test_read_path_has_no_raw_visibility_lookups():
    """Which rules are public or live is decided by RuleQuerySet / live_rules_q, not by each query."""
    offenders = []
    for entry in READ_PATH:
        path = ROOT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                if RAW_VISIBILITY.search(line.split("#")[0]):
                    offenders.append(f"{file.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_rule_queryset_visibility(probe):
    ids = {str(u) for u in Rule.objects.filter(source__name="read-path-probe").values_list("uuid", flat=True)}
    public = {str(u) for u in Rule.objects.public().filter(uuid__in=ids).values_list("uuid", flat=True)}
    live = {str(u) for u in Rule.objects.live().filter(uuid__in=ids).values_list("uuid", flat=True)}
    assert public == {LIVE_ID, RETIRED_ID} and live == {LIVE_ID}
    assert set(Rule.objects.live().with_tag("ATTACK.T1105 ").filter(uuid__in=ids).values_list("uuid", flat=True)) == {
        uuid.UUID(LIVE_ID)
    }


# -- issue 8: an indicator only hidden or retired rules carry is not listed with count 0 ---------
def listed_values(client, url):
    response = client.get(url)
    assert response.status_code == 200
    if url.startswith("/api/"):
        return {item["value"] for item in response.json()["results"]}
    return set(re.findall(r'href="/indicators/\d+/"><code>([^<]*)</code>', response.content.decode()))


def test_indicators_of_hidden_or_retired_rules_only_are_not_listed(client, probe):
    assert (probe.shared.corpus_count, probe.live_only.corpus_count) == (1, 1)
    assert probe.hidden_only.corpus_count == probe.retired_only.corpus_count == 0
    for url in ("/indicators/?value=readpath", "/api/indicators/?value=readpath"):
        assert listed_values(client, url) == {"\\readpathprobe.exe", "readpath-live-only"}, url
    field_page = client.get("/fields/ReadPathProbe/").content.decode()
    assert "readpath-live-only" in field_page
    assert "readpath-hidden-only" not in field_page and "readpath-retired-only" not in field_page
    [probe_field] = client.get("/api/fields/", {"q": "readpathprobe"}).json()["results"]
    assert (probe_field["rules"], probe_field["indicators"]) == (1, 1)


def test_indicator_of_hidden_rules_only_has_no_page(client, probe):
    """A hidden rule leaves no trace: its own indicator's page is a 404, on both sides."""
    assert client.get(f"/indicators/{probe.hidden_only.pk}/").status_code == 404
    assert client.get(f"/api/indicators/{probe.hidden_only.pk}/").status_code == 404


def test_indicator_of_retired_rules_only_keeps_its_page(client, probe):
    """A retired rule keeps its page, and so do the indicators it links to, listing it as retired."""
    page = client.get(f"/indicators/{probe.retired_only.pk}/")
    assert page.status_code == 200 and RETIRED_ID in page.content.decode()
    detail = client.get(f"/api/indicators/{probe.retired_only.pk}/").json()
    assert detail["corpus_count"] == 0 and detail["rule_list"] == []  # the API lists live rules only
    rule_page_text = client.get(f"/rules/{RETIRED_ID}/").content.decode()
    assert f'href="/indicators/{probe.retired_only.pk}/"' in rule_page_text
