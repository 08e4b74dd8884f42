"""In real Chromium: upload a real .evtx file from SigmaHQ's regression data at /match/, wait for the
background job, then read the hits grouped by rule and one explanation (issue 13).

The site (gunicorn, production settings) holds the RedSun rules; the expected rule is the one the
regression folder's info.yml names, read here.
"""

import re

import yaml
from playwright.sync_api import expect

from tests.browser import chromium, shot, watch_console
from tests.constants import CORPUS

RULES = CORPUS / "rules-emerging-threats/2026/Exploits/RedSun"
CASE = CORPUS / "regression_data/rules-emerging-threats/2026/Exploits/RedSun/pipe_created_win_exploit_redsun_named_pipe"


# The `site` fixture (tests/conftest.py): the RedSun rules of SigmaHQ, production settings.
SITE = {"name": "h13u_e2e", "rules": [str(RULES)], "source": "sigmahq", "corpus": True}


def test_upload_an_evtx_file_and_read_grouped_results_and_an_explanation(site):
    info = yaml.safe_load((CASE / "info.yml").read_text(encoding="utf-8"))
    expected_title = info["rule_metadata"][0]["title"]
    evtx = next(CASE.glob("*.evtx"))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = watch_console(page)
        page.goto(site + "/match/")
        page.get_by_label("Event file (.evtx, .json, .jsonl)").set_input_files(str(evtx))
        page.get_by_role("button", name="Upload and match").click()
        expect(page).to_have_url(re.compile(r"/match/jobs/[0-9a-f-]{36}/$"))
        expect(page.locator(".job-status")).to_have_text("done", timeout=60_000)  # the page reloads itself
        by_rule = page.locator("table.rules-by-hit")
        expect(by_rule.get_by_role("link", name=expected_title)).to_be_visible()
        row = by_rule.locator("tr", has=page.get_by_role("link", name=expected_title))
        expect(row.locator(".hit-count")).to_have_text("1")
        page.locator("details.rule-samples summary", has_text=expected_title).click()
        explanation = page.locator("details.rule-samples[open] .explanation").first
        expect(explanation.locator("mark").first).to_be_visible()
        expect(explanation.locator("tr.verdict-true").first).to_contain_text("PipeName")
        expect(page.locator("table.timeline")).to_contain_text(expected_title)
        shot(page, "h13u-match-evtx")
        assert not errors, errors
