"""/coverage/ in real Chromium on a desktop and a phone, on SigmaHQ (issue 21, rough edge 6).

The page was 10,900 px tall on a desktop and 32,400 px on a phone, its button under ~300 checkboxes, and
tokens broke mid-word ("windows:process_c reation"). Checked here as a visitor sees the page: where the
button is, that nothing overflows sideways on a phone, that no token wraps inside a word (every <details>
opened, so collapsed parts are checked too), and the height, in viewports (no timing anywhere). A preset's
profile is audited by axe in light and dark mode with every other page type (tests/browse/test_e2e_accessibility.py).
"""

import pytest
from playwright.sync_api import expect

from catalog.coverage import presets
from tests.browser import DESKTOP, PHONE, shot, watch_console

# The `site` fixture (tests/conftest.py): SigmaHQ, production settings.
SITE = {"name": "coverage_layout_e2e", "rules": "sigmahq"}

ONLY_4688 = "/coverage/?events=security:4688"
BASELINE = next(p for p in presets.PRESETS if p.slug == "audit-baseline")
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
# Line breaks a token may take: after a colon (<wbr>), a comma, a hyphen, a slash, an equals sign, a space.
MID_WORD_BREAKS = """(() => {
  const allowed = /[:,\\-\\/=&;\\s]/;
  const found = [];
  for (const code of document.querySelectorAll('main code')) {
    if (!code.getClientRects().length) continue;
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    let top = null, previous = '', node;
    while ((node = walker.nextNode())) {
      for (let i = 0; i < node.data.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rects = range.getClientRects();
        if (!rects.length) continue;
        const now = rects[0].top;
        // A new text node starts after a <wbr>: a break there is the one the page offers.
        if (top !== null && now > top + 2 && i > 0 && !allowed.test(previous) && !/\\s/.test(node.data[i]))
          found.push(`${code.textContent} (before "${node.data.slice(i)}")`);
        top = now;
        previous = node.data[i];
      }
    }
  }
  return found;
})()"""
SIDEWAYS = """(() => {
  const width = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll('main *'))
    .filter(e => e.getBoundingClientRect().right > width + 0.5 && !e.closest('.table-scroll, .matrix'))
    .map(e => `${e.tagName}.${e.className}: ${(e.textContent || '').slice(0, 60)}`);
})()"""


@pytest.fixture
def open_page(browser):
    contexts = []

    def opened(site, path, viewport, scheme="light"):
        context = browser.new_context(viewport=viewport, color_scheme=scheme)
        contexts.append(context)
        page = context.new_page()
        page.errors = watch_console(page)
        assert page.goto(site + path).status == 200
        return page

    yield opened
    for context in contexts:
        context.close()


def height_in_viewports(page) -> float:
    return page.evaluate("document.documentElement.scrollHeight / window.innerHeight")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_button_is_in_the_first_viewport_and_presets_lead(site, open_page, viewport):
    page = open_page(site, "/coverage/", VIEWPORTS[viewport])
    button = page.locator("#profile-form button[type=submit]").first
    expect(button).to_be_in_viewport()
    box = button.bounding_box()
    assert box["y"] + box["height"] <= VIEWPORTS[viewport]["height"]
    expect(page.locator("#preset-list a", has_text="SwiftOnSecurity sysmon-config")).to_be_in_viewport()
    # With a profile the pickers are one line; opened, the button is again on top of the boxes.
    page.goto(site + ONLY_4688)
    expect(page.locator("#profile-form")).to_be_hidden()
    page.locator(".profile-picker > summary").click()
    button = page.locator("#profile-form button[type=submit]").first
    expect(button).to_be_visible()
    first_box = page.locator("#profile-form input[type=checkbox]").first.bounding_box()
    assert button.bounding_box()["y"] < first_box["y"]
    assert not page.errors, page.errors


def test_a_preset_is_one_click(site, open_page):
    page = open_page(site, "/coverage/", DESKTOP)
    page.locator("#preset-list a", has_text=BASELINE.name).click()
    page.wait_for_url("**/coverage/?events=*")
    expect(page.locator("#profile-now")).to_contain_text(f"You collect: {BASELINE.name}.")
    assert int(page.locator("#count-runnable").inner_text()) > 0
    expect(page.locator("#next-best")).to_contain_text("Biggest blind spot: adding ")
    # The form sends the preset back whole (its two `events` values).
    page.locator(".profile-picker > summary").click()
    page.locator("#profile-form button[type=submit]").first.click()
    page.wait_for_load_state()
    expect(page.locator("#profile-now")).to_contain_text(f"You collect: {BASELINE.name}.")
    assert not page.errors, page.errors


@pytest.mark.parametrize("path", ["/coverage/", ONLY_4688, "/coverage/?events=sysmon:*&logsources=linux::auditd"])
def test_nothing_overflows_sideways_on_a_phone_and_no_token_wraps_mid_word(site, open_page, path):
    page = open_page(site, path, PHONE)
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(SIDEWAYS) == []
    assert page.evaluate(MID_WORD_BREAKS) == []
    assert not page.errors, page.errors


@pytest.mark.parametrize("viewport,most", [("desktop", 4), ("phone", 7)])
def test_a_windows_profile_is_a_few_screens_tall(site, open_page, viewport, most):
    """Before: 14,652 px (16 screens) on a desktop and 44,211 px (52) on a phone for Security 4688 alone."""
    page = open_page(site, ONLY_4688, VIEWPORTS[viewport])
    assert height_in_viewports(page) <= most
    page.goto(site + "/coverage/")
    assert height_in_viewports(page) <= most
    if viewport == "phone":
        page.goto(site + ONLY_4688)
        shot(page, "coverage-phone")
