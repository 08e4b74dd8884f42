"""One rule to take away (issue 14): its .yml file, its Navigator layer, its CSV row, its upstream file.

Django's test client checks the downloads and the links on the rule page (example rules); real
Chromium checks that the page's Copy and Download buttons work, under the site's CSP.
"""

import csv
import io
import json
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from playwright.sync_api import expect

from catalog.exports.rule_downloads import download_name
from catalog.models import CatalogVersion, Rule, Source
from catalog.publishing.visibility import set_visibility
from catalog.templatetags.ui_tags import upstream_url
from tests.browser import DESKTOP, watch_console
from tests.constants import CERTUTIL, CERTUTIL_ID, EXAMPLES

UPSTREAM = "https://example.org/sigma-catalog/blob/main/"
CERTUTIL_FILE = CERTUTIL.rsplit("/", 1)[-1]


def body(response) -> str:
    """A download's text, streamed (the rule list's exports) or not (a single rule's)."""
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode()


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response))))


@pytest.fixture
def certutil(db):
    return Rule.objects.select_related("source").get(uuid=CERTUTIL_ID)


# -- the downloads -------------------------------------------------------------------------------
def test_yml_download_is_the_rule_as_written(client, certutil):
    response = client.get(f"/rules/{CERTUTIL_ID}/rule.yml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{CERTUTIL_FILE}"'
    assert response.content.decode() == certutil.yaml_text
    assert certutil.yaml_text in (EXAMPLES / CERTUTIL).read_text(encoding="utf-8")


def test_navigator_layer_holds_the_rules_techniques_only(client, certutil):
    response = client.get(f"/rules/{CERTUTIL_ID}/layer.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{CERTUTIL_FILE[:-4]}-layer.json"'
    layer = response.json()
    assert layer["name"] == certutil.title and CERTUTIL_ID in layer["description"]
    assert (
        {t["techniqueID"] for t in layer["techniques"]}
        == {"T1105"}
        == set(certutil.techniques.values_list("technique_id", flat=True))
    )
    assert all(t["score"] == 1 for t in layer["techniques"])
    assert layer["metadata"] == [{"name": "source", "value": f"http://testserver/rules/{CERTUTIL_ID}/"}]
    # the same layer format as the rule list's export: the same keys, the same versions
    listing = json.loads(body(client.get("/attack/navigator.json")))
    assert set(layer) == set(listing) and layer["versions"] == listing["versions"]


def test_csv_row_reads_like_the_rule_lists_export(client, certutil):
    response = client.get(f"/rules/{CERTUTIL_ID}/row.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{CERTUTIL_FILE[:-4]}.csv"'
    header, row = rows(response)
    export = rows(client.get("/rules/export.csv"))
    assert header == export[0]
    assert row in export[1:] and row[0] == CERTUTIL_ID and row[header.index("path")] == certutil.path


def test_hidden_and_unknown_rules_have_no_downloads_retired_ones_do(client, certutil):
    for suffix in ("rule.yml", "layer.json", "row.csv"):
        assert client.get(f"/rules/00000000-0000-4000-8000-000000000000/{suffix}").status_code == 404
    set_visibility(Rule.objects.filter(pk=certutil.pk), retired=True)
    for suffix in ("rule.yml", "layer.json", "row.csv"):
        assert client.get(f"/rules/{CERTUTIL_ID}/{suffix}").status_code == 200, suffix  # its page is shown too
    set_visibility(Rule.objects.filter(pk=certutil.pk), hidden=True)
    assert client.get(f"/rules/{CERTUTIL_ID}/").status_code == 404
    for suffix in ("rule.yml", "layer.json", "row.csv"):
        assert client.get(f"/rules/{CERTUTIL_ID}/{suffix}").status_code == 404, suffix


def test_download_name_keeps_only_safe_characters():
    def rule(path):
        return SimpleNamespace(path=path, uuid="6f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f01")

    assert download_name(rule("rules/windows/proc_creation_win_x.yml"), ".yml") == "proc_creation_win_x.yml"
    assert download_name(rule('rules/we"ird\r\nname;.yaml'), ".yml") == "weirdname.yml"
    assert download_name(rule(""), ".csv") == "6f0e7a8c-1b2d-4c3e-9f4a-5b6c7d8e9f01.csv"


# -- the rule page's links -----------------------------------------------------------------------
def test_rule_page_links_its_downloads_and_json(client, db):
    text = client.get(f"/rules/{CERTUTIL_ID}/").content.decode()
    actions = text[text.index('class="rule-actions"') : text.index("</nav>", text.index('class="rule-actions"'))]
    for href in ("rule.yml", "layer.json", "row.csv"):
        assert f'href="/rules/{CERTUTIL_ID}/{href}" download' in actions
    assert f'href="/api/rules/{CERTUTIL_ID}/" type="application/json">JSON</a>' in actions
    assert 'data-copy-code="rule-yaml" hidden>Copy YAML</button>' in text  # shown by catalog.js
    assert "Upstream file" not in text  # the examples source has no base URL


def test_upstream_link_when_the_source_has_a_base_url(client, certutil, settings):
    settings.CATALOG_PAGE_CACHE_SECONDS = 0
    settings.CATALOG_FRAGMENT_SECONDS = 0  # every view renders the whole page: the two counts below compare
    client.get(f"/rules/{CERTUTIL_ID}/")  # a first view stores the rule's converted query once
    with CaptureQueriesContext(connection) as without:
        client.get(f"/rules/{CERTUTIL_ID}/")
    Source.objects.filter(pk=certutil.source_id).update(base_url=UPSTREAM)
    with CaptureQueriesContext(connection) as with_link:
        text = client.get(f"/rules/{CERTUTIL_ID}/").content.decode()
    expected = UPSTREAM + certutil.path
    assert certutil.path.startswith("rules/windows/")
    assert text.count(f'<a href="{expected}" rel="noopener">') == 2  # the actions bar and Details › Source
    assert len(with_link) == len(without)  # the source comes with the rule: no query more


@pytest.mark.parametrize(
    "base,path,expected",
    [
        (
            "https://github.com/SigmaHQ/sigma/blob/master",
            "rules/a b.yml",
            "https://github.com/SigmaHQ/sigma/blob/master/rules/a%20b.yml",
        ),
        ("https://x.org/tree/", "/rules/c.yml", "https://x.org/tree/rules/c.yml"),
        ("javascript:alert(1)//", "rules/c.yml", ""),
        ("", "rules/c.yml", ""),
        ("https://x.org/", "", ""),
    ],
)
def test_upstream_url(base, path, expected):
    rule = SimpleNamespace(path=path, commit="", source=SimpleNamespace(base_url=base, git_url="", git_paths=[]))
    assert upstream_url(rule) == expected


def test_admin_sets_a_sources_base_url_and_pages_show_it_at_once(client, admin_user, certutil):
    client.force_login(admin_user)
    source = certutil.source
    page = client.get(f"/admin/catalog/source/{source.pk}/change/").content.decode()
    assert 'name="base_url"' in page and "Upstream base URL" in page
    before = CatalogVersion.current()
    response = client.post(
        f"/admin/catalog/source/{source.pk}/change/", {"base_url": UPSTREAM, "roots": "\n".join(source.roots)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert source.base_url == UPSTREAM
    assert CatalogVersion.current() > before  # cached rule pages are not served with the old (no) link
    response = client.post(
        f"/admin/catalog/source/{source.pk}/change/", {"base_url": "ftp://x.org/", "roots": "\n".join(source.roots)}
    )
    assert response.status_code == 200 and "Enter a valid URL" in response.content.decode()


# -- in the browser: copy and download, CSP-clean ------------------------------------------------
# The `site` fixture (tests/conftest.py) of the browser tests below: the example rules with their upstream base URL.
SITE = {"name": "catalog_e2e_downloads", "rules": "examples", "base_url": UPSTREAM}


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors = watch_console(page)
    yield page
    context.close()
    assert not errors, errors  # a CSP violation (inline script or style) is a console error


def test_copy_button_puts_the_yaml_on_the_clipboard(site, page):
    page.goto(f"{site}/rules/{CERTUTIL_ID}/")
    button = page.get_by_role("button", name="Copy YAML")
    button.click()
    # The label changes when the clipboard's promise resolves: wait for it (a busy machine takes a while).
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.locator(".copy-status")).to_have_text("The YAML is on the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    expected = page.request.get(f"{site}/rules/{CERTUTIL_ID}/rule.yml").text()
    assert copied.rstrip("\n") == expected.rstrip("\n")  # the YAML without the line numbers
    assert not copied.lstrip().startswith("1")


def test_download_buttons_save_the_rule_files(site, page, tmp_path):
    page.goto(f"{site}/rules/{CERTUTIL_ID}/")
    saved = {}
    for name in ("Download .yml", "ATT&CK Navigator layer", "CSV row"):
        with page.expect_download() as info:
            page.get_by_role("link", name=name, exact=True).first.click()
        download = info.value
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        saved[name] = (download.suggested_filename, target.read_text(encoding="utf-8"))
    assert saved["Download .yml"][0] == CERTUTIL_FILE
    assert "title: Certutil Fetching Remote Content" in saved["Download .yml"][1]
    assert json.loads(saved["ATT&CK Navigator layer"][1])["techniques"][0]["techniqueID"] == "T1105"
    assert saved["CSV row"][1].splitlines()[1].startswith(CERTUTIL_ID)


def test_upstream_link_points_at_the_file(site, page):
    page.goto(f"{site}/rules/{CERTUTIL_ID}/")
    href = page.locator(".rule-actions").get_by_role("link", name="Upstream file").get_attribute("href")
    assert href == f"{UPSTREAM}rules/{CERTUTIL}"
