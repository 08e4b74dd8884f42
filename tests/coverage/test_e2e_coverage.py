"""Telemetry coverage in real Chromium: tick events, read what they run, share the URL (issue 12).

The example rules (rules/) served by gunicorn with the site's CSP. The numbers the page shows are
checked against the JSON twin of the same profile, and the rule counted runnable against the YAML.
"""

from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from tests.browser import DESKTOP, axe_violations, chromium, describe, shot, watch_console
from tests.constants import EXAMPLES

# The `site` fixture (tests/conftest.py): the example rules, production settings.
SITE = {"name": "h12_e2e_coverage", "rules": "examples"}


@pytest.fixture
def page():
    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        errors = watch_console(page)
        yield page
        context.close()
        assert not errors, errors


def windows_process_creation_titles() -> set[str]:
    titles = set()
    for path in Path(EXAMPLES).rglob("*.yml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(doc, dict) or not {"title", "detection", "logsource"} <= set(doc):
                continue  # legacy collections' global and partial documents
            source = doc["logsource"]
            if source.get("product") == "windows" and source.get("category") == "process_creation":
                titles.add(doc["title"])
    return titles


def test_ticking_events_shows_what_they_run(site, page):
    page.goto(site + "/coverage/")
    form = page.locator("#profile-form")
    form.locator('input[value="sysmon:1"]').check()  # Sysmon's box list is open, the others are one line each
    form.locator("details.provider > summary", has_text="Security").click()
    form.locator('input[value="security:4688"]').check()
    form.locator("button[type=submit]").first.click()
    page.wait_for_url("**/coverage/?events=*")
    assert "events=sysmon%3A1" in page.url and "events=security%3A4688" in page.url
    expect(page.locator("#coverage-summary")).to_be_visible()
    shown = {name: int(page.locator(f"#count-{name}").inner_text()) for name in ("runnable", "partial", "not-runnable")}
    query = page.url.split("?", 1)[1]
    counts = page.request.get(f"{site}/api/coverage/?{query}").json()["counts"]
    assert shown == {
        "runnable": counts["runnable"],
        "partial": counts["partial"],
        "not-runnable": counts["not_runnable"],
    }
    assert shown["runnable"] >= 1
    expect(page.locator("#runnable-table")).to_contain_text("sysmon:1")
    expect(page.locator("#next-list li").first).to_be_visible()
    assert not axe_violations(page), describe(axe_violations(page))
    shot(page, "coverage-e2e")
    # Every example process_creation rule is listed as runnable, or runnable with missing fields.
    listed = set()
    for name in ("runnable", "partial"):
        page.locator(f"#count-{name}").click()
        listed |= set(page.locator("#coverage-rules .rule-title a").all_inner_texts())
        page.go_back()
    assert windows_process_creation_titles() <= listed, windows_process_creation_titles() - listed
    # The shared URL gives the same boxes ticked.
    page.goto(f"{site}/coverage/?{query}")
    expect(page.locator('#profile-form input[value="security:4688"]')).to_be_checked()
    expect(page.locator('#profile-form input[value="sysmon:3"]')).not_to_be_checked()
    page.emulate_media(color_scheme="dark")
    assert not axe_violations(page), describe(axe_violations(page))


def test_a_sysmon_configuration_uploaded_on_the_page_adds_its_events(site, page, tmp_path):
    """Issue 21, rough edge 11: the Sysmon upload existed only in the API; the page has its form now."""
    from tests.coverage.test_coverage_profile import SYSMON_CONFIG

    config = tmp_path / "sysmonconfig.xml"
    config.write_text(SYSMON_CONFIG, encoding="utf-8")
    page.goto(site + "/coverage/?events=security:4688")
    form = page.locator("form.sysmon-upload")
    form.get_by_label("Sysmon configuration (XML)").set_input_files(str(config))
    form.get_by_role("button", name="Add the events it logs").click()
    page.wait_for_url("**/coverage/?events=*")
    for token in ("security%3A4688", "sysmon%3A1", "sysmon%3A3", "sysmon%3A13"):
        assert token in page.url
    assert "sysmon%3A10" not in page.url  # an empty include logs nothing
    expect(page.locator("#coverage-summary")).to_be_visible()
    expect(page.locator('#profile-form input[value="sysmon:1"]')).to_be_checked()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert not axe_violations(page), describe(axe_violations(page))
    # A file that is not a configuration: its own page (a 400) says why, with the form again.
    config.write_text("<Config/>", encoding="utf-8")
    refused = page.context.new_page()
    errors = watch_console(refused)
    refused.goto(site + "/coverage/")
    refused.locator("form.sysmon-upload").get_by_label("Sysmon configuration (XML)").set_input_files(str(config))
    refused.locator("form.sysmon-upload").get_by_role("button", name="Add the events it logs").click()
    expect(refused.locator("#sysmon-upload-error")).to_contain_text("expected <Sysmon>")
    assert not axe_violations(refused), describe(axe_violations(refused))
    assert errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
