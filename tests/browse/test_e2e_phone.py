"""The catalog on a phone (390 px) and a laptop (1400 px), in real Chromium (issue 14).

A person on a phone finds the filters above the results behind a "Filters" disclosure, applies
one and reaches a rule; the navigation is one line; the ATT&CK matrix becomes one tactic after
another; an empty result offers a way out. At 1400 px the header is one line. Coverage and Preview
are in the navigation, and a rule's query is on its page's first screen (issue 21). The example rules
(rules/) are enough for all of it, served by gunicorn with the site's CSP.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import DESKTOP, PHONE, shot, watch_console
from tests.constants import CERTUTIL_ID

# The `site` fixture (tests/conftest.py): the example rules, production settings.
SITE = {"name": "catalog_e2e_phone", "rules": "examples"}


def new_page(browser, viewport):
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    page = context.new_page()
    return context, page, watch_console(page)


@pytest.fixture
def phone(browser):
    context, page, errors = new_page(browser, PHONE)
    yield page
    context.close()
    assert not errors, errors  # CSP violations and broken assets


@pytest.fixture
def laptop(browser):
    context, page, errors = new_page(browser, DESKTOP)
    yield page
    context.close()
    assert not errors, errors


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_phone_opens_the_filters_applies_one_and_reaches_a_rule(site, phone):
    phone.goto(site + "/rules/")
    toggle = phone.locator("summary.facet-toggle")
    first_rule = phone.locator(".rules-table .rule-title a").first
    # Closed, above the results: the first rule is on the first screen, the facets are not.
    expect(toggle).to_be_visible()
    expect(phone.locator(".facets")).to_be_hidden()
    assert toggle.bounding_box()["y"] < first_rule.bounding_box()["y"] < PHONE["height"]
    assert no_sideways_scroll(phone)
    shot(phone, "phone-rules", full_page=False)

    toggle.click()
    high = phone.locator(".facet a[href*='level=high']")
    expect(high).to_be_visible()
    count = int(high.locator(".facet-count").text_content())
    shot(phone, "phone-rules-filters", full_page=False)
    high.click()

    expect(phone).to_have_url(re.compile(r"/rules/\?level=high$"))
    expect(phone.locator(".result-count strong")).to_have_text(str(count))
    expect(phone.locator("summary.facet-toggle")).to_contain_text("(1 active)")
    expect(phone.locator(".facets")).to_be_hidden()  # closed again on the new page: the results come first
    levels = phone.locator(".rules-table .level").all_text_contents()
    assert levels and {level.strip().lower() for level in levels} == {"high"}

    title = phone.locator(".rules-table .rule-title a").first.text_content()
    phone.locator(".rules-table .rule-title a").first.click()
    expect(phone.locator("h1")).to_have_text(title)
    assert no_sideways_scroll(phone)
    shot(phone, "phone-rule", full_page=False)


def test_phone_navigation_is_one_line_under_brand_and_search(site, phone):
    phone.goto(site + "/changes/")
    items = phone.locator(".main-nav li")
    tops = {round(box["y"]) for box in (items.nth(i).bounding_box() for i in range(items.count()))}
    assert len(tops) == 1, tops  # one scrolling line, not three
    brand, search = phone.locator(".brand").bounding_box(), phone.locator("#site-q").bounding_box()
    assert abs(brand["y"] + brand["height"] / 2 - (search["y"] + search["height"] / 2)) < 8  # side by side
    header = phone.locator(".site-header").bounding_box()
    assert header["height"] < 110, header
    # The current page's link is scrolled into view on the line (Changes is the last one).
    current = phone.locator(".main-nav a[aria-current='page']").bounding_box()
    assert current["x"] >= 0 and current["x"] + current["width"] <= PHONE["width"]
    assert no_sideways_scroll(phone)


def test_laptop_header_is_one_line(site, laptop):
    laptop.goto(site + "/rules/")
    parts = [laptop.locator(selector).bounding_box() for selector in (".brand", ".main-nav ul", "#site-q")]
    middles = [box["y"] + box["height"] / 2 for box in parts]
    assert max(middles) - min(middles) < 8, parts  # brand, navigation and search on one line
    assert laptop.locator(".site-header").bounding_box()["height"] < 70
    expect(laptop.locator("summary.facet-toggle")).to_be_hidden()  # the facets are the sidebar
    expect(laptop.locator(".facets")).to_be_visible()


def test_phone_matrix_is_one_tactic_after_another(site, phone):
    phone.goto(site + "/attack/")
    assert no_sideways_scroll(phone)
    matrix = phone.locator(".matrix")
    assert matrix.evaluate("m => m.scrollWidth <= m.clientWidth")  # nothing hidden to the side
    jump = phone.get_by_role("navigation", name="Tactics")
    expect(jump).to_be_visible()
    jump.get_by_role("link", name="Execution", exact=True).click()
    expect(phone).to_have_url(re.compile("#tactic-execution$"))
    heading = phone.locator("#tactic-execution .matrix-head").bounding_box()
    assert 0 <= heading["y"] < 100  # scrolled to the tactic
    shot(phone, "phone-attack", full_page=False)


def test_laptop_matrix_says_it_scrolls_sideways(site, laptop):
    laptop.goto(site + "/attack/")
    assert laptop.locator(".matrix").evaluate("m => m.scrollWidth > m.clientWidth")
    expect(laptop.locator(".matrix-cue")).to_be_visible()
    expect(laptop.locator(".matrix-cue")).to_contain_text("scroll the matrix sideways")
    expect(laptop.get_by_role("navigation", name="Tactics")).to_be_hidden()


def test_empty_result_offers_to_drop_the_last_filter(site, phone):
    phone.goto(site + "/rules/?level=informational&q=certutil")
    expect(phone.locator(".empty-result")).to_contain_text("No rules match.")
    # No empty box of facets: only facets with a value to add are shown (here another level, OR-ed with the first).
    shown = phone.locator(".facet-panel .facet")
    assert shown.count() == phone.locator(".facet-panel .facet:has(li a)").count()
    indicators = phone.get_by_role("link", name="indicator values")
    assert indicators.get_attribute("href") == "/indicators/?value=certutil"
    phone.get_by_role("link", name=re.compile("without q: certutil")).click()
    expect(phone).to_have_url(re.compile(r"/rules/\?level=informational$"))
    assert int(phone.locator(".result-count strong").text_content()) > 0


# -- issue 21, rough edge 4: Coverage and Preview in the navigation; the query near the top of a rule page ---
@pytest.mark.parametrize("path,name", [("/coverage/", "Coverage"), ("/preview/", "Preview"), ("/match/", "Match")])
def test_coverage_and_preview_are_in_the_navigation(site, laptop, path, name):
    laptop.goto(site + "/")
    nav = laptop.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name=name, exact=True).click()
    expect(laptop).to_have_url(site + path)
    expect(nav.locator("a[aria-current='page']")).to_have_text(name)


def test_a_rule_pages_query_is_on_its_first_screen_above_the_yaml(site, laptop, phone):
    """The Query section was below the ATT&CK and event tables and the whole YAML: 1,710 px down at 1400 px
    (1,984 px on a phone) for SigmaHQ's LSASS ProcDump rule and its 41 lines of YAML. It now follows the
    description: 379 px (688 px on a phone)."""
    for page, viewport in ((laptop, DESKTOP), (phone, PHONE)):
        page.goto(f"{site}/rules/{CERTUTIL_ID}/")
        query_top = page.locator("#query").evaluate("q => q.getBoundingClientRect().top + window.scrollY")
        yaml_top = page.locator("#body").evaluate("b => b.getBoundingClientRect().top + window.scrollY")
        assert query_top < yaml_top
        assert query_top < viewport["height"], query_top  # it starts on the first screen
        expect(page.locator("details.rule-yaml")).to_have_count(1)  # the YAML stays collapsible
        assert no_sideways_scroll(page)
    laptop.get_by_role("navigation", name="Take this rule").get_by_role("link", name="Query").click()
    expect(laptop).to_have_url(re.compile("#query$"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_first_run_says_these_are_examples_and_how_to_load_sigmahq(site, browser, scheme):
    """Issue 21, rough edge 9: a catalog of the example rules alone says so, on a phone and a laptop."""
    from tests.browser import axe_violations, describe

    for viewport in (PHONE, DESKTOP):
        context = browser.new_context(viewport=viewport, color_scheme=scheme)
        page = context.new_page()
        errors = watch_console(page)
        try:
            page.goto(site + "/")
            notice = page.get_by_role("region", name="These are the example rules")
            expect(notice).to_be_visible()
            expect(notice.locator("pre code")).to_have_text("make sigmahq")
            assert notice.bounding_box()["y"] < viewport["height"]  # on the first screen
            expect(page.locator(".stats .stat-label").first).to_have_text("example rules")
            assert no_sideways_scroll(page)
            violations = axe_violations(page)
            shot(page, f"first-run-{'phone' if viewport is PHONE else 'laptop'}-{scheme}", full_page=False)
        finally:
            context.close()
        assert not violations, describe(violations)
        assert not errors, errors
