"""HTTP caching of public answers (issue 10): ETag / Last-Modified / 304, Cache-Control, the API cached
like the pages, cache keys normalised to each page's known parameters, and nothing personal shared."""

import gzip

import pytest
from django.core.cache import caches
from django.utils.http import http_date

from catalog.models import CatalogVersion, Rule
from catalog.publishing.versioning import bump_version
from tests.constants import CERTUTIL_ID

pytestmark = pytest.mark.django_db
RULE_URL = f"/rules/{CERTUTIL_ID}/"


@pytest.fixture
def page_cache(settings):
    settings.CATALOG_PAGE_CACHE_SECONDS = 300
    caches["pages"].clear()
    yield caches["pages"]
    caches["pages"].clear()


def test_public_pages_carry_validators_and_a_short_public_lifetime(client, settings, page_cache):
    settings.CATALOG_HTTP_MAX_AGE = 45
    bump_version()
    number, changed_at = CatalogVersion.objects.values_list("number", "changed_at").get(pk=1)
    response = client.get(RULE_URL)
    assert response.status_code == 200
    assert response["ETag"] == f'W/"{number}-page"'
    assert response["Last-Modified"] == http_date(int(changed_at.timestamp()))
    assert response["Cache-Control"] == "public, max-age=45, must-revalidate"
    assert "Cookie" in response["Vary"]


def test_a_conditional_get_is_answered_304_until_the_catalog_changes(client, page_cache):
    first = client.get(RULE_URL)
    etag, modified = first["ETag"], first["Last-Modified"]
    again = client.get(RULE_URL, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get(RULE_URL, headers={"If-Modified-Since": modified}).status_code == 304
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    rule.note = "Seen in a hunt"
    rule.save(update_fields=["note"])  # curation bumps the version
    changed = client.get(RULE_URL, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag and b"Seen in a hunt" in changed.content


def test_unknown_parameters_neither_reach_the_page_nor_make_new_entries(client, page_cache):
    client.get("/rules/?level=high")
    size = len(page_cache)
    for n in range(5):
        response = client.get(f"/rules/?utm_source={n}&level=high")
        assert response["X-Page-Cache"] == "hit"
        assert b"utm_source" not in response.content
    assert len(page_cache) == size
    # Unknown parameters between known ones are dropped too.
    assert client.get("/rules/?level=high&sort=title")["X-Page-Cache"] == "miss"
    assert client.get("/rules/?level=high&x=1&sort=title&y=2")["X-Page-Cache"] == "hit"


def test_a_page_not_listed_is_never_cached(client, page_cache, monkeypatch):
    """Only the catalog's own pages are cached: a view that declares no parameters (catalog.platform.parameters) may
    change by itself (a match job's status page did, and its self-reloading page showed "queued" forever
    from the cache)."""
    from catalog.browse import views
    from catalog.platform.parameters import ATTRIBUTE

    monkeypatch.delattr(views.logsource_list, ATTRIBUTE)
    client.get("/logsources/")
    assert "X-Page-Cache" not in client.get("/logsources/")
    assert "X-Page-Cache" not in client.get("/logsources/?anything=1")


def test_a_match_job_status_page_is_not_cached(client, page_cache):
    import uuid

    from catalog.models import MatchJob

    job = MatchJob.objects.create(file_name="x.jsonl", file_format="jsonl", size_bytes=1, token=uuid.uuid4())
    url = f"/match/jobs/{job.token}/"
    assert client.get(url).status_code == 200
    assert "X-Page-Cache" not in client.get(url)


def test_an_anonymous_api_get_is_served_from_the_cache(client, page_cache, django_assert_num_queries):
    first = client.get("/api/rules/?level=high")
    assert first.status_code == 200
    assert first["X-Page-Cache"] == "miss"
    with django_assert_num_queries(1):  # the catalog version only: no throttle, no rule read
        second = client.get("/api/rules/?level=high")
    assert second["X-Page-Cache"] == "hit" and second.json() == first.json()
    detail = f"/api/rules/{CERTUTIL_ID}/"
    client.get(detail)
    assert client.get(detail)["X-Page-Cache"] == "hit"


def test_the_api_refuses_unknown_parameters_and_keeps_no_entry(client, page_cache):
    size = len(page_cache)
    assert client.get("/api/rules/?levle=high").status_code == 400
    assert len(page_cache) == size


def test_the_browsable_api_and_json_are_kept_apart(client, page_cache):
    json_answer = client.get("/api/rules/", headers={"Accept": "application/json"})
    html_answer = client.get("/api/rules/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert json_answer["Content-Type"].startswith("application/json")
    assert html_answer["Content-Type"].startswith("text/html")
    again = client.get("/api/rules/", headers={"Accept": "application/json"})
    assert again["Content-Type"].startswith("application/json") and again.json() == json_answer.json()


def test_a_signed_in_api_get_still_knows_its_user(client, admin_user, page_cache):
    client.force_login(admin_user)
    response = client.get("/api/rules/", headers={"Accept": "text/html"})
    assert "X-Page-Cache" not in response
    assert admin_user.username.encode() in response.content  # the browsable API names who is signed in
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_personal_answers_are_private_and_never_kept(client, admin_user, page_cache):
    form = client.get("/match/")  # a form with a CSRF token (and its cookie)
    assert "no-store" in form["Cache-Control"] and "public" not in form["Cache-Control"]
    assert "X-Page-Cache" not in form and "ETag" not in form
    client.force_login(admin_user)
    page = client.get(RULE_URL)
    assert "X-Page-Cache" not in page and "ETag" not in page
    assert "private" in page["Cache-Control"] and "no-store" in page["Cache-Control"]


def test_gzip_clients_get_the_stored_body_compressed(client, page_cache):
    plain = client.get(RULE_URL)
    zipped = client.get(RULE_URL, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped["X-Page-Cache"] == "hit" and zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert int(zipped["Content-Length"]) == len(zipped.content)
    assert "Accept-Encoding" in zipped["Vary"]


def test_absolute_links_are_kept_per_host(client, page_cache, settings):
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    one = client.get("/api/rules/").json()
    other = client.get("/api/rules/", headers={"Host": "other.example"}).json()
    assert one["results"][0]["url"].startswith("http://testserver/")
    assert other["results"][0]["url"].startswith("http://other.example/")
