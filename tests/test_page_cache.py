"""The whole-page cache: fast repeats, never stale after a change, never personal."""

import pytest
from django.core.cache import caches

from catalog.models import CatalogVersion, Rule
from tests.constants import CERTUTIL_ID

pytestmark = pytest.mark.django_db
URL = f"/rules/{CERTUTIL_ID}/"


@pytest.fixture
def page_cache(settings):
    settings.CATALOG_PAGE_CACHE_SECONDS = 300
    caches["pages"].clear()
    yield
    caches["pages"].clear()


def test_a_repeated_page_is_served_from_the_cache_with_one_query(page_cache, client, django_assert_num_queries):
    first = client.get(URL)
    assert first["X-Page-Cache"] == "miss"
    with django_assert_num_queries(1):  # the catalog version, nothing else
        second = client.get(URL)
    assert second["X-Page-Cache"] == "hit" and second.content == first.content


def test_a_curation_change_shows_at_once(page_cache, client):
    client.get(URL)
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    rule.note = "Checked by the hunt team"
    rule.save(update_fields=["note"])
    response = client.get(URL)
    assert response["X-Page-Cache"] == "miss" and b"Checked by the hunt team" in response.content
    rule.hidden = True
    rule.save(update_fields=["hidden"])
    assert client.get(URL).status_code == 404


def test_an_import_bumps_the_version(page_cache, examples):
    from catalog.importing.importer import import_paths

    before = CatalogVersion.current()
    import_paths([str(examples)], source="ex")
    assert CatalogVersion.current() == before + 1
    import_paths([str(examples)], source="ex")  # nothing changed: cached pages stay valid
    assert CatalogVersion.current() == before + 1


def test_signed_in_visitors_and_the_admin_are_never_cached(page_cache, client, admin_user):
    client.force_login(admin_user)
    assert "X-Page-Cache" not in client.get(URL)
    assert "X-Page-Cache" not in client.get("/admin/")


def test_errors_are_not_cached(page_cache, client):
    client.get("/rules/00000000-0000-0000-0000-000000000000/")
    assert client.get("/rules/00000000-0000-0000-0000-000000000000/").get("X-Page-Cache") is None


def test_huge_pages_are_not_kept(page_cache, client, monkeypatch):
    from catalog.web import page_cache as module

    small = len(client.get("/logsources/").content)
    monkeypatch.setattr(module, "MAX_CACHED_BYTES", small + 1)
    client.get("/logsources/")
    assert client.get("/logsources/")["X-Page-Cache"] == "hit"
    response = client.get(URL)
    assert len(response.content) > small + 1  # a rule page is bigger than the list of log sources
    assert "X-Page-Cache" not in response
