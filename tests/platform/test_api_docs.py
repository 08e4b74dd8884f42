"""The API docs show which operations need credentials: none do (issue 21, rough edge 11).

Swagger UI (/api/docs/) drew a lock on every operation, because drf-spectacular listed the session and
basic schemes beside `{}` (no credentials) for each AllowAny view, and Swagger UI only leaves the lock
out when an operation's `security` is exactly `[{}]` (catalog.platform.api_schema). The schemes stay
declared. /api/changes/ and /api/coverage/ are in the schema (tests/platform/test_views_do_the_work.py
checks their shapes). In Chromium: the docs page renders every operation, with no lock.
"""

import pytest
import yaml
from playwright.sync_api import expect

from tests.browser import DESKTOP, shot, watch_console

# The `site` fixture (tests/conftest.py): the example rules, production settings.
SITE = {"name": "h5_api_docs", "rules": "examples"}


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


@pytest.mark.django_db
def test_every_anonymous_operation_says_it_needs_no_credentials(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    found = list(operations(schema))
    assert len(found) > 20
    for path, method, operation in found:
        assert operation["security"] == [{}], (method, path)
    assert {"/api/changes/", "/api/coverage/"} <= set(schema["paths"])
    assert set(schema["components"]["securitySchemes"]) == {"cookieAuth", "basicAuth"}  # still declared


def test_the_docs_page_shows_no_lock(site, browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = watch_console(page)
    page.goto(site + "/api/docs/")
    summaries = page.locator(".opblock .opblock-summary")
    expect(summaries.first).to_be_visible(timeout=30_000)
    schema = yaml.safe_load(page.request.get(site + "/api/schema/").body())
    assert summaries.count() == len(list(operations(schema)))  # every operation is rendered ...
    assert page.locator(".opblock .authorization__btn").count() == 0  # ... and none has a lock
    expect(page.locator("button.authorize")).to_be_visible()  # the schemes can still be used
    expect(page.locator(".opblock-summary-path", has_text="/api/coverage/")).to_have_count(2)  # GET and POST
    expect(page.locator(".opblock-summary-path", has_text="/api/changes/")).to_have_count(1)
    shot(page, "h5-api-docs", full_page=False)
    context.close()
    assert not errors, errors
