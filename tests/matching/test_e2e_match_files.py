"""In real Chromium: upload a real .evtx file from SigmaHQ's regression data at /match/, wait for the
background job, then read the hits grouped by rule and one explanation (issue 13).

The site (gunicorn, production settings) holds the RedSun rules; the expected rule is the one the
regression folder's info.yml names, read here. A pasted event lands on its results; the job's timeline
names what each event holds and the job page fits a phone (issue 21, rough edge 7).
"""

import json
import re

import yaml
from playwright.sync_api import expect

from tests.browser import DESKTOP, PHONE, chromium, shot, watch_console
from tests.constants import CORPUS

RULES = CORPUS / "rules-emerging-threats/2026/Exploits/RedSun"
CASE = CORPUS / "regression_data/rules-emerging-threats/2026/Exploits/RedSun/pipe_created_win_exploit_redsun_named_pipe"


# The `site` fixture (tests/conftest.py): the RedSun rules of SigmaHQ, production settings.
SITE = {"name": "h13u_e2e", "rules": [str(RULES)], "source": "sigmahq", "corpus": True, "task_worker": True}


def test_upload_an_evtx_file_and_read_grouped_results_and_an_explanation(site):
    info = yaml.safe_load((CASE / "info.yml").read_text(encoding="utf-8"))
    expected_title = info["rule_metadata"][0]["title"]
    evtx = next(CASE.glob("*.evtx"))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = watch_console(page)
        page.goto(site + "/match/")
        page.get_by_label("Event files (.evtx, .json, .jsonl)").set_input_files(str(evtx))
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


# -- issue 21, rough edge 7 -----------------------------------------------------------------------------
def test_a_pasted_event_lands_on_its_results_with_the_focus(site):
    """The results render below both forms: the post lands on them (#results) and the focus moves there."""
    event = json.loads(next(CASE.glob("*.json")).read_text(encoding="utf-8"))
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        errors = watch_console(page)
        page.goto(site + "/match/")
        page.get_by_label("Event (JSON)").fill(json.dumps(event))
        page.get_by_role("button", name="Find matching rules").click()
        expect(page).to_have_url(re.compile(r"/match/#results$"))
        results = page.locator("#results")
        expect(results).to_be_focused()
        top = results.bounding_box()["y"]
        at_end = page.evaluate("window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1")
        assert 0 <= top < DESKTOP["height"] and (top < 50 or at_end), (
            top
        )  # scrolled to: at the top, or as far as it goes
        assert page.evaluate("window.scrollY") > 0
        expect(results.get_by_role("link", name=expected_rule()["title"])).to_be_visible()
        assert not errors, errors


def test_the_job_timeline_names_what_the_event_holds_and_fits_a_phone(site):
    """The timeline showed only time, event number and rule, and the job page was 627 px wide on a 390 px
    phone (604 px in the issue): now the event's Computer, User, Image, ... are there, in the page and in the
    job API's `fields`, and nothing is wider than the phone (the tables scroll in their boxes)."""
    event = json.loads(next(CASE.glob("*.json")).read_text(encoding="utf-8"))["Event"]
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        errors = watch_console(page)
        page.goto(site + "/match/")
        page.get_by_label("Event files (.evtx, .json, .jsonl)").set_input_files(str(next(CASE.glob("*.evtx"))))
        page.get_by_role("button", name="Upload and match").click()
        expect(page).to_have_url(re.compile(r"/match/jobs/[0-9a-f-]{36}/$"))
        expect(page.locator(".job-status")).to_have_text("done", timeout=60_000)
        timeline = page.locator("table.timeline")
        fields = timeline.locator("dl.event-fields").first
        expect(fields.locator("dt")).to_have_text(["Computer", "User", "Image"])
        expect(fields.locator("dd")).to_have_text(
            [event["System"]["Computer"], event["EventData"]["User"], event["EventData"]["Image"]]
        )
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")  # explanations too
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "h5-match-job-phone")
        token = page.url.rstrip("/").rsplit("/", 1)[1]
        answer = page.request.get(f"{site}/api/match/jobs/{token}/").json()
        assert answer["results"]["timeline"][0]["fields"] == [
            {"field": "Computer", "value": event["System"]["Computer"]},
            {"field": "User", "value": event["EventData"]["User"]},
            {"field": "Image", "value": event["EventData"]["Image"]},
        ]
        context.close()
        assert not errors, errors


def expected_rule() -> dict:
    return yaml.safe_load((CASE / "info.yml").read_text(encoding="utf-8"))["rule_metadata"][0]
