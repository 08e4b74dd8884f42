"""In real headless Chromium: a rule's Query section (switch target and pipeline, copy) and /preview/.

The catalog is built from the example rules in its own database (SQLite, or PostgreSQL when the run
uses it) and served by gunicorn, as tests/browse/test_e2e.py does; Playwright drives Debian's Chromium.
A Content-Security-Policy violation shows as a console error and fails the test.
"""

import pytest
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, PHONE, shot, watch_console
from tests.constants import CERTUTIL, CERTUTIL_ID, CRADLE_ID, EXAMPLES

# The `site` fixture (tests/conftest.py): the example rules; DEBUG on.
SITE = {"name": "catalog_e2e_conversion", "rules": "examples", "production": False}


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()
    assert not errors, errors


def query_text(page, box: str = "#query-text") -> str:
    """The query box's text as the page holds it (what Copy copies): its laid-out lines joined."""
    return page.locator(box).text_content()


def api_query(page, site: str, rule_id: str, query: str) -> str:
    return page.request.get(f"{site}/api/rules/{rule_id}/query/?{query}").json()["query"]


def test_switch_target_and_pipeline_then_copy_the_query(site, page):
    page.goto(f"{site}/rules/{CERTUTIL_ID}/")
    section = page.locator("#query")
    expect(section.get_by_role("heading", name="Query")).to_be_visible()
    expect(section.locator("a[aria-current='true']")).to_have_text("Splunk SPL")
    assert "certutil" in query_text(page).lower()

    section.get_by_role("link", name="Microsoft Defender XDR KQL (Device* tables)").click()
    expect(page).to_have_url(f"{site}/rules/{CERTUTIL_ID}/?target=kusto#query")
    expect(section.locator("a[aria-current='true']")).to_have_text("Microsoft Defender XDR KQL (Device* tables)")
    assert query_text(page).startswith("DeviceProcessEvents")

    page.get_by_label("Pipeline").select_option("none")
    section.get_by_role("button", name="Convert").click()
    expect(page).to_have_url(f"{site}/rules/{CERTUTIL_ID}/?target=kusto&pipeline=none#query")
    kql = query_text(page)
    assert not kql.startswith("DeviceProcessEvents") and "certutil" in kql.lower()
    page.screenshot(path=str(ARTIFACTS / "rule-query-kusto.png"), full_page=False)

    copy = section.get_by_role("button", name="Copy")
    copy.click()
    expect(section.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == kql
    assert kql == api_query(page, site, CERTUTIL_ID, "target=kusto&pipeline=none")  # byte for byte pySigma's


def test_an_unconvertible_choice_shows_pysigmas_error(site, page):
    page.goto(f"{site}/rules/53ef49af-9a6b-49c7-8234-66e005b150d8/?target=lucene")
    expect(page.locator("#query .conversion-error")).to_contain_text("Backend does not support correlation rules.")
    expect(page.locator("#query").get_by_role("button", name="Copy")).to_have_count(0)


def test_preview_a_pasted_rule(site, page):
    text = (
        (EXAMPLES / CERTUTIL)
        .read_text(encoding="utf-8")
        .replace("title: Certutil Fetching Remote Content", "title: My Draft Certutil Rule")
    )
    page.goto(f"{site}/preview/")
    page.get_by_label("Sigma rule (YAML)").fill(text)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="My Draft Certutil Rule")).to_be_visible()
    expect(page.get_by_role("heading", name="Indicators")).to_be_visible()
    queries = page.locator("#query")
    expect(queries.get_by_role("heading", name="Splunk SPL (pipeline sysmon,splunk_windows)")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "preview.png"), full_page=True)
    queries.get_by_role("button", name="Copy").first.click()
    expect(queries.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == query_text(page, "#query-text-1")


# How many of a query box's lines take more than one line box on screen (a range over a line's text has
# one client rect per line box it spans).
WRAPPED_LINES = """b => [...b.querySelectorAll('code > span')].filter(line => {
  const range = document.createRange(); range.selectNodeContents(line);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
}).length"""


def test_a_query_on_a_phone_is_laid_out_between_tokens_and_scrolls_sideways(site, browser):
    """Issue 21, rough edge 5: the query broke mid-token on a phone ("Co mmandLine"). Now its lines break
    only between tokens (catalog.conversion.layout), no line wraps, the box scrolls sideways, and Copy
    still gives pySigma's query byte for byte."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    errors = watch_console(page)
    page.goto(f"{site}/rules/{CRADLE_ID}/?target=lucene")
    box = page.locator("#query-text")
    box.scroll_into_view_if_needed()
    assert box.evaluate("b => getComputedStyle(b).whiteSpace") == "pre"
    lines = box.locator("code > span")
    assert lines.count() > 10  # one line before, laid out now
    wrapped = box.evaluate(WRAPPED_LINES)
    assert wrapped == 0  # no line is wrapped, so no word is split
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # the long lines scroll inside the box ...
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # ... not the page
    shot(page, "h5-query-phone", full_page=False)
    page.locator("#query").get_by_role("button", name="Copy").click()
    expect(page.locator("#query").get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == query_text(page) == api_query(page, site, CRADLE_ID, "target=lucene")
    assert "\n" not in copied  # the lines are the page's, not the query's
    context.close()
    assert not errors, errors
