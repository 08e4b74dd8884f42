"""End to end, in real headless Chromium, acting as a person would.

The catalog is built in its own SQLite file from the SigmaHQ snapshot and served by gunicorn in a
separate process; Playwright drives Debian's Chromium. Screenshots of the main pages are kept in
test-artifacts/ for a human to look at.
"""

import pytest
from playwright.sync_api import expect

from tests.browser import ARTIFACTS
from tests.constants import REFERENCE_RULE_ID

# The `site` fixture (tests/conftest.py): SigmaHQ, on the same kind of database as the rest of the run; DEBUG on.
SITE = {"name": "catalog_e2e", "rules": "sigmahq", "production": False, "warm_matcher": True}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()
    # A Content-Security-Policy violation or a broken asset shows up as a console error.
    assert not errors, errors


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_search_open_rule_and_pivot_on_an_indicator(site, page):
    page.goto(site + "/")
    shot(page, "overview")
    page.get_by_role("searchbox").first.fill("net.exe")
    page.get_by_role("searchbox").first.press("Enter")
    expect(page).to_have_url(f"{site}/rules/?q=net.exe")
    shot(page, "search-net-exe")
    page.get_by_role("link", name="System Network Connections Discovery Via Net.EXE").first.click()
    expect(page).to_have_url(f"{site}/rules/{REFERENCE_RULE_ID}/")
    expect(page.locator("h1")).to_have_text("System Network Connections Discovery Via Net.EXE")
    shot(page, "rule-reference")
    page.get_by_role("link", name="\\net.exe", exact=True).first.click()
    expect(page).to_have_url(f"{site}/indicators/" + page.url.rstrip("/").rsplit("/", 1)[-1] + "/")
    expect(page.locator("body")).to_contain_text("\\net.exe")
    shot(page, "indicator-net-exe")
    # The indicator page lists every rule that carries it: the reference rule and the others.
    rule_links = page.locator("a[href^='/rules/']").filter(has_not_text="Rules")
    expect(page.get_by_role("link", name="System Network Connections Discovery Via Net.EXE")).to_be_visible()
    assert rule_links.count() > 10


def test_attack_matrix_click_through_to_a_techniques_rules(site, page):
    page.goto(site + "/attack/")
    expect(page.locator("body")).to_contain_text("Discovery")
    shot(page, "attack-matrix")
    page.locator("a[href='/attack/T1049/']").first.click()
    expect(page).to_have_url(f"{site}/attack/T1049/")
    expect(page.locator("body")).to_contain_text("System Network Connections Discovery")
    expect(page.get_by_role("link", name="System Network Connections Discovery Via Net.EXE")).to_be_visible()
    shot(page, "technique-T1049")


def test_rule_list_facets_work_without_javascript(site, browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(site + "/rules/?tactic=discovery")
    shot(page, "rules-discovery-phone")
    first_level = page.locator("a[href*='level=']").first
    first_level.click()
    assert "level=" in page.url and "tactic=discovery" in page.url
    expect(page.locator("body")).to_contain_text("rules")
    context.close()


def test_dark_mode_renders(site, browser):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{site}/rules/{REFERENCE_RULE_ID}/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    shot(page, "rule-reference-dark")
    context.close()
    channels = [int(c) for c in background[background.index("(") + 1 : background.index(")")].split(",")[:3]]
    assert sum(channels) < 3 * 100, background  # a dark background, not the light one


def test_paste_an_event_and_see_the_rule_it_triggers(site, page):
    from tests.matching.test_evaluate import SYSMON_EVENT

    page.goto(site + "/match/")
    page.get_by_label("Event (JSON)").fill(SYSMON_EVENT.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Find matching rules").click()
    expect(page.get_by_role("link", name="WerFaultSecure Loading DbgCore or DbgHelp - EDR-Freeze")).to_be_visible()
    shot(page, "match-event")
