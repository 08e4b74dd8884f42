"""A Sysmon configuration uploaded on /coverage/ (issue 21, rough edge 11): no longer only POST /api/coverage/.

The form (templates/coverage/sysmon_upload_form.html) posts the file to /coverage/sysmon/, which reads it as the
API does (catalog.coverage.profile.from_sysmon_config), adds the events it logs to the profile the page showed,
and sends the browser to /coverage/ with the profile in the URL. Refusals name what is wrong: a file that is not
a Sysmon configuration, one too large (before the body is read), too many requests (the API's `coverage` rate),
a post from another site (CSRF).
"""

import codecs
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.coverage.test_coverage_profile import SYSMON_CONFIG

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_shared_cache():
    caches["shared"].clear()  # the rate limit's counters
    yield
    caches["shared"].clear()


def upload(client, content: bytes, **profile):
    data = {"config": SimpleUploadedFile("sysmonconfig.xml", content, "text/xml"), **profile}
    return client.post("/coverage/sysmon/", data)


def events_of(location: str) -> set[str]:
    query = parse_qs(urlsplit(location).query)
    return {token for value in query.get("events", []) for token in value.split(",")}


def test_the_coverage_page_offers_the_upload_keeping_its_profile(client, example_rules):
    html = client.get("/coverage/?events=security:4688&logsources=linux::auditd").content.decode()
    form = html[html.index('<form class="sysmon-upload"') : html.index("</form>", html.index('class="sysmon-upload"'))]
    assert 'action="/coverage/sysmon/" enctype="multipart/form-data"' in form
    assert '<input type="hidden" name="events" value="security:4688">' in form
    assert '<input type="hidden" name="logsources" value="linux::auditd">' in form
    assert 'name="csrfmiddlewaretoken"' in form


def test_an_uploaded_config_adds_the_events_it_logs_to_the_profile(client, example_rules):
    response = upload(client, SYSMON_CONFIG.encode(), events="security:4688", logsources="linux::auditd")
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith("/coverage/?")
    expected = {"security:4688", *(f"sysmon:{n}" for n in (1, 3, 4, 12, 13, 14, 16, 255))}
    assert events_of(location) == expected  # as POST /api/coverage/ reads it (ProcessAccess: an empty include)
    assert parse_qs(urlsplit(location).query)["logsources"] == ["linux::auditd"]
    api = client.post(
        "/api/coverage/",
        {"events": ["security:4688"], "logsources": ["linux::auditd"], "sysmon_config": SYSMON_CONFIG},
        content_type="application/json",
    ).json()
    page = client.get(location).content.decode()
    assert f'<strong id="count-runnable">{api["counts"]["runnable"]}</strong>' in page


def test_a_utf16_config_as_windows_writes_it_is_read(client, example_rules):
    response = upload(client, codecs.BOM_UTF16_LE + SYSMON_CONFIG.encode("utf-16-le"))
    assert response.status_code == 303 and "sysmon:1" in events_of(response["Location"])


@pytest.mark.parametrize(
    "content,message",
    [
        (b"<Sysmon><EventFiltering></Sysmon>", "Sysmon configuration, line 1"),
        (b"<Config/>", "the root element is &lt;Config&gt;, expected &lt;Sysmon&gt;"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><Sysmon/>', "may not declare a DOCTYPE"),
        (b"<Sysmon>\xc3\x28</Sysmon>", "is not UTF-8 or UTF-16 text"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_why(client, example_rules, content, message):
    response = upload(client, content, events="security:4688")
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'id="sysmon-upload-error"' in html
    assert '<input type="hidden" name="events" value="security:4688">' in html  # the form again, profile kept
    assert 'href="/coverage/?events=security%3A4688"' in html


def test_no_file_is_a_400_and_a_large_one_is_refused_before_it_is_read(client, example_rules, settings):
    assert client.post("/coverage/sysmon/", {}).status_code == 400
    settings.CATALOG_MAX_SYSMON_CONFIG_CHARS = 1000
    response = upload(client, b"<Sysmon>" + b" " * 200_000 + b"</Sysmon>")
    assert response.status_code == 413 and "a Sysmon configuration may have at most 2,000" in response.content.decode()


def test_the_upload_needs_csrf_and_shares_the_apis_rate(example_rules, settings):
    browser = Client(enforce_csrf_checks=True)
    assert upload(browser, SYSMON_CONFIG.encode()).status_code == 403
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "coverage": "1/min"}}
    client = Client()
    assert upload(client, SYSMON_CONFIG.encode()).status_code == 303
    refused = upload(client, SYSMON_CONFIG.encode())
    assert refused.status_code == 429 and "Too many coverage requests" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert client.get("/coverage/sysmon/").status_code == 405
