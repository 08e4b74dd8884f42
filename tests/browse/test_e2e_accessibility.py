"""Every public page type, checked by axe-core in real Chromium, in light and in dark mode (issue 14).

The catalog holds the SigmaHQ snapshot (real sizes: ~700 matrix cells at every heat step, rules
with thousands of indicators, an indicator whose value is the empty string) and is served by
gunicorn with its real Content-Security-Policy. Before axe runs, every <details> on the page is
opened, so collapsed content (a rule's YAML, a stage's block, more facet choices) is checked too.
axe's "serious" and "critical" violations fail the test; each failure lists the rule, the
elements and axe's reason. A console error (a CSP violation, a broken asset) fails it as well.
"""

import pytest

from catalog.coverage import presets
from tests.browser import DESKTOP, axe_violations, describe, shot, watch_console
from tests.constants import REFERENCE_RULE_ID

EMPTY_VALUE_RULE_ID = "c187c075-bb3e-4c62-b4fa-beae0ffc211f"  # carries `eq ''` indicators (ApplicationPath: '')

# A preset's profile (the Windows audit baseline: the preset with the most event types, so the largest profile page).
# The coverage layout module (tests/coverage/test_e2e_coverage_layout.py) checks its layout and leaves its audit here.
BASELINE_PROFILE = next(p for p in presets.PRESETS if p.slug == "audit-baseline").profile.query()
# (name, path): one of each kind of public page. `indicator` is reached by a link (ids differ per database).
PAGES = [
    ("overview", "/"),
    ("rules", "/rules/?tactic=discovery"),
    ("rules-empty", "/rules/?q=nothing-matches-this&level=high"),
    ("rules-search", "/rules/?q=lsass+procdump"),  # snippets with <mark>ed words (issue 21)
    ("rule", f"/rules/{REFERENCE_RULE_ID}/"),
    ("rule-empty-value", f"/rules/{EMPTY_VALUE_RULE_ID}/"),
    ("indicators", "/indicators/?kind=eq&field=ApplicationPath"),
    ("indicator", None),
    ("fields", "/fields/"),
    ("field", "/fields/ApplicationPath/"),
    ("attack", "/attack/"),
    ("technique", "/attack/T1049/"),
    ("tactic", "/attack/tactics/discovery/"),
    ("events", "/events/"),
    ("event", "/events/Sysmon/1/"),
    ("logsources", "/logsources/"),
    ("match", "/match/"),
    ("changes", "/changes/"),
    ("preview", "/preview/"),
    ("coverage", "/coverage/"),
    ("coverage-profile", "/coverage/?" + BASELINE_PROFILE),
    ("not-found", "/rules/00000000-0000-4000-8000-000000000000/"),
]


# The `site` fixture (tests/conftest.py): SigmaHQ with its upstream base URL, production settings.
SITE = {"name": "catalog_e2e_a11y", "rules": "sigmahq", "base_url": "https://github.com/SigmaHQ/sigma/blob/master/"}
# axe takes seconds a page on SigmaHQ's sizes (tens on /fields/ and the matrix): light and dark run on two workers.
SITE_SPLIT_BY = "scheme"


@pytest.fixture(scope="module")
def pages(browser):
    """One page per colour scheme, which every test of the module navigates: a new browser context starts a
    renderer process (about 0.4 CPU-s, a tenth of a small page's audit). Each test's navigation makes a new
    document, so what a test did to its page (the probe below) goes with it; these public pages read no cookie."""
    opened = {}

    def page_for(scheme):
        if scheme not in opened:
            context = browser.new_context(viewport=DESKTOP, color_scheme=scheme)
            page = context.new_page()
            opened[scheme] = (context, page, watch_console(page))
        return opened[scheme]

    yield page_for
    for context, _page, _errors in opened.values():
        context.close()


def open_page(pages, site, name, path, scheme):
    """The scheme's page at `path`, and the console errors from here on."""
    _context, page, errors = pages(scheme)
    errors.clear()
    if path is None:  # the empty-string indicator of the rule above, reached as a person would
        page.goto(f"{site}/rules/{EMPTY_VALUE_RULE_ID}/")
        page.locator("#indicators a.ind:has(.empty-value)").first.click()
        page.wait_for_url(f"{site}/indicators/*/")
    else:
        response = page.goto(site + path)
        assert response.status == (404 if name == "not-found" else 200), path
    return page, errors


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name,path", PAGES, ids=[name for name, _ in PAGES])
def test_no_serious_accessibility_violations(site, pages, name, path, scheme):
    page, errors = open_page(pages, site, name, path, scheme)
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = axe_violations(page)
    if name in ("rule", "attack", "rules-empty") and scheme == "dark":
        shot(page, f"a11y-{name}-{scheme}", full_page=False)
    assert not violations, f"{name} ({scheme}):\n{describe(violations)}"
    if name == "not-found":  # Chromium logs the page's own 404 once; any asset failing would add another
        page_itself = "Failed to load resource: the server responded with a status of 404 (Not Found)"
        assert errors.count(page_itself) == 1, errors
        errors = [e for e in errors if e != page_itself]
    assert not errors, errors


def test_axe_does_find_what_it_is_asked_about(site, pages):
    """The check is live: a page with a link of no text and low-contrast text fails it."""
    page, _errors = open_page(pages, site, "overview", "/", "light")
    page.evaluate(
        """() => {
            const link = document.createElement('a');
            link.href = '/rules/';
            document.querySelector('main').appendChild(link);
            const faint = document.createElement('p');
            faint.textContent = 'faint text';
            faint.setAttribute('data-probe', '');
            document.querySelector('main').appendChild(faint);
            document.styleSheets[0].insertRule('[data-probe] { color: #cccccc !important; }');
        }"""
    )
    found = {v["id"] for v in axe_violations(page)}
    assert {"link-name", "color-contrast"} <= found, found


def test_empty_value_is_named_not_blank(site, pages):
    """An `eq ''` indicator is a link that says 'empty string', on the rule page and the indicator list."""
    page, errors = open_page(pages, site, "rule-empty-value", f"/rules/{EMPTY_VALUE_RULE_ID}/", "light")
    names = page.locator("#indicators a.ind").evaluate_all("links => links.map(a => a.textContent.trim())")
    assert "" not in names and "empty string" in names
    page.goto(site + "/indicators/?kind=eq&field=ApplicationPath")
    assert page.locator("a.ind:has(.empty-value)").count() >= 1
    assert not errors, errors


# Pages a form makes (issue 21): a pasted rule's preview, with every section of a rule page, and a pasted
# event's results on /match/ (the page lands on them, focused).
DRAFT_RULE = """title: Draft Comsvcs MiniDump Via Rundll32
id: 5b2d61c8-9a0e-4f3b-8c41-2e7d9f0a6b15
status: experimental
logsource: {category: process_creation, product: windows}
detection:
    selection:
        Image|endswith: '\\\\rundll32.exe'
        CommandLine|contains|all: ['comsvcs', 'MiniDump', 'full']
    filter_installer:
        ParentImage|endswith: '\\\\msiexec.exe'
    condition: selection and not filter_installer
tags: [attack.credential-access, attack.t1003.001]
level: high
"""
FORMS = {
    "preview": ("/preview/", "Sigma rule (YAML)", DRAFT_RULE, "Preview", "#rule-1-similar"),
    "match": ("/match/", "Event (JSON)", None, "Find matching rules", "#results"),
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_what_a_form_shows_has_no_serious_accessibility_violations(site, pages, form, scheme):
    from tests.matching.test_evaluate import SYSMON_EVENT

    path, label, text, button, shown = FORMS[form]
    page, errors = open_page(pages, site, form, path, scheme)
    page.get_by_label(label).fill(text or SYSMON_EVENT.read_text(encoding="utf-8"))
    page.get_by_role("button", name=button).click()
    page.locator(shown).wait_for()
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = axe_violations(page)
    if scheme == "dark":
        shot(page, f"a11y-{form}-result-{scheme}", full_page=False)
    assert not violations, f"{form} ({scheme}):\n{describe(violations)}"
    assert not errors, errors
