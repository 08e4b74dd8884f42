"""Event pages and a rule's event coverage read the one taxonomy (catalog.core.taxonomy), as /coverage/ does.

- every Windows event's page (and its API twin) counts and lists exactly the rules /coverage/ runs for a
  profile of that one event, a whole channel's page ("Security · any event") what it runs for "security:*";
- a rule's page and record list every event it can run through, a mapped one marked with what it lacks;
- event URLs are case-insensitive: another spelling is a permanent redirect to the canonical one.
"""

import re

import pytest

from catalog.core import taxonomy
from catalog.core.reference.event_tables import LINUX_CATEGORIES, LINUX_SERVICES
from catalog.coverage.profile import parse
from catalog.coverage.runnable import PARTIAL, RUNNABLE, class_rules, profile_coverage
from catalog.models import EventType
from tests.constants import CERTUTIL_ID

LINUX_PROVIDERS = {provider for provider, _ in LINUX_CATEGORIES.values()} | set(LINUX_SERVICES.values())


def windows_events():
    return [e for e in EventType.objects.order_by("provider", "event_id") if e.provider not in LINUX_PROVIDERS]


def event_param(event) -> str:
    return "any" if event.event_id is None else str(event.event_id)


def check_every_event_agrees_with_coverage(client) -> tuple[int, int]:
    """For every Windows event, the whole channel's row included: its page and API twin count and list the
    rules /coverage/ runs for a profile of it. Returns (events with rules, channel rows checked)."""
    with_rules = channels = 0
    for event in windows_events():
        token = f"{taxonomy.provider_slug(event.provider)}:{'*' if event.event_id is None else event.event_id}"
        result = profile_coverage(parse(token))
        runnable = {str(u) for u in class_rules(result, RUNNABLE).values_list("uuid", flat=True)}
        assert result.counts[RUNNABLE] == len(runnable), token
        detail = client.get(f"/api/events/{event.provider}/{event_param(event)}/").json()
        assert detail["rules"] == result.counts[RUNNABLE], token
        assert {r["id"] for r in detail["rule_list"]} == runnable, token
        assert detail["rules_partial"] == result.counts[PARTIAL], token
        page = client.get(f"/events/{event.provider}/{event_param(event)}/").content.decode()
        shown = int(re.search(r"<strong>(\d+)</strong> live rule", page).group(1))
        assert shown == result.counts[RUNNABLE], token
        with_rules += bool(runnable)
        channels += event.event_id is None
    return with_rules, channels


def test_every_windows_event_page_counts_what_coverage_runs(client, example_rules):
    with_rules, channels = check_every_event_agrees_with_coverage(client)
    assert with_rules >= 5  # (no example rule names a whole channel)
    # The Security events a category maps to have a page, though no example rule names them.
    assert {("Security", 4688), ("Security", 5156)} <= {(e.provider, e.event_id) for e in windows_events()}


@pytest.mark.corpus
def test_every_windows_event_page_counts_what_coverage_runs_on_sigmahq(client, corpus):
    with_rules, channels = check_every_event_agrees_with_coverage(client)
    assert with_rules >= 250 and channels >= 4  # Application, Security, ... (any event)
    listed = client.get("/api/events/Security/4688/").json()
    assert listed["rules"] > 400 and listed["taxonomy"]["mapped"][0]["category"] == "process_creation"


def test_the_4688_page_lists_mapped_process_creation_rules(client, example_rules):
    page = client.get("/events/Security/4688/").content.decode()
    assert "Backs <code>process_creation</code> through a conversion pipeline" in page
    assert "<code>Image</code> as <code>NewProcessName</code>" in page
    assert "Office Application Spawning A Script Interpreter" in page  # Image and ParentImage: both renamed
    assert CERTUTIL_ID not in page  # it looks for OriginalFileName too, which 4688 does not log
    assert 'href="/coverage/?events=security%3A4688">' in page  # the rules it runs without some fields


def test_a_rule_page_lists_every_event_it_can_run_through(client, example_rules):
    page = client.get(f"/rules/{CERTUTIL_ID}/").content.decode()
    events = page[page.index('id="events"') : page.index('id="body"')]
    assert 'href="/events/Sysmon/1/">Event ID 1</a>' in events
    assert re.search(r'href="/events/Security/4688/">Event ID 4688</a>.*?via Security 4688', events, re.S)
    assert "without <code>OriginalFileName</code>" in events
    record = client.get(f"/api/rules/{CERTUTIL_ID}/").json()
    assert record["events"] == [{"provider": "Sysmon", "event_id": 1, "title": "Process creation"}]  # as before
    security = next(e for e in record["event_coverage"] if e["provider"] == "Security")
    assert security["event_id"] == 4688 and security["mapped"] and not security["runnable"]
    assert security["missing_fields"] == ["OriginalFileName"] and ["Image", "NewProcessName"] in security["renames"]


def test_a_rules_native_events_are_the_taxonomys(example_rules):
    """A rule's own events (Rule.events, stored at import) are the taxonomy's native ways in."""
    for rule in example_rules.filter(product="windows").exclude(category="").prefetch_related("events"):
        native = [s.token for s in taxonomy.category_sources().get(rule.category, ()) if not s.mapped]
        stored = [f"{taxonomy.provider_slug(e.provider)}:{e.event_id}" for e in rule.events.all()]
        assert set(stored) <= set(native), rule.title


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("/events/security/4688/", "/events/Security/4688/"),
        ("/events/SYSMON/1/?page=1", "/events/Sysmon/1/?page=1"),
        ("/events/powershell-classic/800/", "/events/Windows%20PowerShell/800/"),
        ("/events/system/ANY/", "/events/System/any/"),
        ("/events/Sysmon/01/", "/events/Sysmon/1/"),
        ("/api/events/security/4688/", "/api/events/Security/4688/"),
        ("/api/events/windefend/any/", "/api/events/Windows%20Defender/any/"),
    ],
)
def test_event_urls_are_case_insensitive(client, example_rules, url, canonical):
    response = client.get(url)
    assert response.status_code == 301 and response["Location"] == canonical
    assert client.get(url, follow=True).status_code in (200, 404)  # 404: no such event among the examples


def test_canonical_event_urls_answer_and_unknown_ones_are_404(client, example_rules):
    assert client.get("/events/Security/4688/").status_code == 200
    assert client.get("/api/events/Security/4688/").status_code == 200
    assert client.get("/events/nosuchprovider/1/").status_code == 404
    assert client.get("/events/security/abc/").status_code == 404
