"""A sample of logs read on /coverage/ (POST /coverage/sample/), the comparison with the declared profile (the page's,
and GET /coverage/compare/), and `manage.py infer_profile` (issue 23, part 4).

The example catalog's certutil rule looks for Image or OriginalFileName, and CommandLine: a sample of Sysmon 1
events whose OriginalFileName is always empty runs it with OriginalFileName missing.
"""

import json
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from catalog.models.telemetry import TelemetryProfile
from tests.constants import CERTUTIL_ID
from tests.coverage.test_inferred_profile import SYSMON, certutil_launches, windows_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_shared_cache():
    caches["shared"].clear()  # the rate limit's counters
    yield
    caches["shared"].clear()


def lines(events) -> bytes:
    return "".join(json.dumps(event) + "\n" for event in events).encode()


def upload(client, *files, **declared):
    uploads = [SimpleUploadedFile(name, content) for name, content in files]
    return client.post("/coverage/sample/", {"files": uploads, **declared})


def between(html: str, marker: str, end: str = "</ul>") -> str:
    start = html.index(marker)
    return html[start : html.index(end, start)]


def test_the_coverage_page_offers_the_sample_upload_keeping_its_profile(client, example_rules):
    html = client.get("/coverage/?events=sysmon:1&unfilled=sysmon:1:parentuser").content.decode()
    form = between(html, '<form class="sample-upload"', "</form>")
    assert 'action="/coverage/sample/" enctype="multipart/form-data"' in form
    assert 'name="files" id="sample-files" multiple' in form
    assert '<input type="hidden" name="unfilled" value="sysmon:1:parentuser">' in form
    assert "the first 10000 events are read" in form
    assert 'id="unfilled-now"' in html and "<code>parentuser</code>" in html  # what the page's profile knows
    profile_form = between(html, 'id="profile-form"', "</form>")  # ticking boxes keeps the fields never filled
    assert '<input type="hidden" name="unfilled" value="sysmon:1:parentuser">' in profile_form


def test_a_sample_is_read_compared_with_the_declared_profile_and_opens_coverage(client, example_rules):
    response = upload(
        client,
        ("sysmon.jsonl", lines(certutil_launches())),
        ("security.json", json.dumps(windows_event("Security", 4624, TargetUserName="bob")).encode()),
        events="sysmon:1,sysmon:3",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="sample-records">4</strong> events read from <code>sysmon.jsonl</code> (3)' in html
    row = between(html, '<tr data-token="sysmon:1">', "</tr>")
    assert "OriginalFileName" in between(row, 'class="never-filled"', "</td>")
    assert "<code>CurrentDirectory</code> 67%" in row and "<code>OriginalFileName</code> 0% " in row
    assert "You said you collect <code class=\"token\">sysmon:<wbr>3</code> (Network connection detected); the " \
           "sample has none." in html  # fmt: skip
    assert 'The sample has <code class="token">security:<wbr>4624</code>' in between(html, 'id="sample-undeclared"')
    assert "<code>originalfilename</code>" in between(html, 'id="never-filled"')

    link = html.split('id="sample-coverage-link"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    assert query["events"] == ["security:4624,sysmon:1"]
    assert "sysmon:1:originalfilename" in query["unfilled"][0].split(",")
    page = client.get(link)
    assert page.status_code == 200
    rules = client.get("/coverage/rules/?" + urlsplit(link).query + "&class=partial").content.decode()
    assert f"/rules/{CERTUTIL_ID}/" in rules  # runnable with OriginalFileName missing

    compared = html.split('id="compare-link"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    again = client.get(compared).content.decode()  # the comparison as a GET: the same, without the rates
    assert between(again, 'id="declared-absent"') == between(html, 'id="declared-absent"')
    assert between(again, 'id="never-filled"') == between(html, 'id="never-filled"')
    assert between(again, 'id="compare-counts"', "</table>") == between(html, 'id="compare-counts"', "</table>")
    assert 'id="sample-reading"' not in again


def test_reading_stops_at_the_cap_and_says_so(client, example_rules, settings):
    settings.CATALOG_COVERAGE_SAMPLE_EVENTS = 2
    html = upload(client, ("sysmon.jsonl", lines(certutil_launches()))).content.decode()
    assert '<strong id="sample-records">2</strong>' in html and 'id="sample-truncated"' in html
    assert 'id="nothing-declared"' in html


def test_nul_characters_in_names_and_values_are_dropped(client, example_rules):
    event = windows_event(SYSMON, 1, **{"Command\x00Line": "cmd\x00.exe", "Image": "C:\\x.exe"})
    response = upload(client, ("nul\x00.jsonl", lines([event])))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<code>CommandLine</code> 100%" in html and "\x00" not in html


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.txt", b"hello", "notes.txt: neither an EVTX file (no ElfFile signature) nor JSON."),
        ("bad.jsonl", b'{"a": 1}\n{"a": \n', "bad.jsonl: line 2, column"),
        ("empty.json", b"[]", "empty.json: no JSON object found."),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_why(client, example_rules, name, content, message):
    response = upload(client, (name, content), events="security:4688")
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'id="sample-upload-error"' in html
    assert '<input type="hidden" name="events" value="security:4688">' in html  # the form again, profile kept


def test_no_file_is_a_400_a_large_upload_a_413_and_the_rate_is_the_coverage_one(client, example_rules, settings):
    assert client.post("/coverage/sample/", {}).status_code == 400
    assert client.get("/coverage/sample/").status_code == 405
    settings.CATALOG_COVERAGE_SAMPLE_MAX_BYTES = 1000
    big = upload(client, ("big.jsonl", b" " * 100_000))
    assert big.status_code == 413 and "at most 1,000" in big.content.decode()
    settings.CATALOG_COVERAGE_SAMPLE_MAX_BYTES = 10**6
    caches["shared"].clear()  # the requests above were counted
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "coverage": "1/min"}}
    assert upload(client, ("s.jsonl", lines(certutil_launches()))).status_code == 200
    refused = upload(client, ("s.jsonl", lines(certutil_launches())))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


def test_a_bad_compare_url_is_a_400_naming_the_token(client, example_rules):
    response = client.get("/coverage/compare/?events=sysmon:1&sample_unfilled=sysmon:x:image")
    assert response.status_code == 400 and "sysmon:x:image" in response.content.decode()


def test_infer_profile_prints_saves_and_opens_the_profile(tmp_path, client, example_rules):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "sysmon.jsonl").write_bytes(lines(certutil_launches()))
    (folder / "notes.txt").write_text("not read")
    out = StringIO()
    call_command("infer_profile", str(folder), "--json", stdout=out)
    reading = json.loads(out.getvalue())
    assert reading["records"] == 3 and reading["files"] == [{"name": str(folder / "sysmon.jsonl"), "events_read": 3}]
    assert "OriginalFileName" in reading["events"][0]["never_filled"]
    assert "sysmon:1:originalfilename" in reading["profile"]["unfilled"].split(",")

    out = StringIO()
    call_command("infer_profile", str(folder / "sysmon.jsonl"), "--name", "Lab sample", stdout=out, stderr=StringIO())
    assert "sysmon:1: 3 record(s); never filled: " in out.getvalue() and "OriginalFileName" in out.getvalue()
    saved = TelemetryProfile.objects.get(name="Lab sample")
    assert saved.events == "sysmon:1" and "sysmon:1:originalfilename" in saved.unfilled.split(",")
    html = client.get("/coverage/").content.decode()
    link = between(html, 'id="saved-h"', "</section>").split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query)["unfilled"] == [saved.unfilled]
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("infer_profile", str(tmp_path / "missing.evtx"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="No event file"):
        call_command("infer_profile", str(tmp_path / "empty"), "--json")
