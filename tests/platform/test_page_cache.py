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
    from catalog.platform import page_cache as module

    small = len(client.get("/logsources/").content)
    monkeypatch.setattr(module, "MAX_CACHED_BYTES", small + 1)
    client.get("/logsources/")
    assert client.get("/logsources/")["X-Page-Cache"] == "hit"
    response = client.get(URL)
    assert len(response.content) > small + 1  # a rule page is bigger than the list of log sources
    assert "X-Page-Cache" not in response


def test_the_rule_pages_conversion_parameters_reach_it_under_the_cache(page_cache, client):
    """?target= and ?pipeline= are read by the rule page's conversion section (a template tag): its view
    declares them, so the cache keys the page by them and lets them through."""
    plain = client.get(URL)
    splunk = client.get(URL, {"target": "splunk"})
    lucene = client.get(URL, {"target": "lucene", "pipeline": "none"})
    assert [r["X-Page-Cache"] for r in (plain, splunk, lucene)] == ["miss"] * 3
    assert len({plain.content, splunk.content, lucene.content}) == 3
    assert b"lucene" in lucene.content


def test_an_undeclared_parameter_is_dropped_and_the_page_shared(page_cache, client):
    first = client.get(URL, {"target": "lucene"})
    again = client.get(URL, {"target": "lucene", "utm_source": "mail"})
    assert again["X-Page-Cache"] == "hit" and again.content == first.content


def test_every_declared_parameter_reaches_its_view_under_the_cache(page_cache, client):
    """The production configuration: each route that declares its parameters, requested with all of them
    and an undeclared probe, is given exactly the declared ones (tests/platform/test_parameter_declarations.py
    checks that the view reads no others)."""
    from catalog.platform.parameters import declaration_of
    from tests.parameter_reads import PROBE, declared_routes, sample_arguments, sample_url

    arguments = sample_arguments()
    routes = list(declared_routes())
    for name, route, view in routes:
        declaration = declaration_of(view)
        parameters = dict.fromkeys(sorted(declaration.names), "1")
        if not declaration.refuses_others:  # (those answer an unknown parameter with a 400)
            parameters[PROBE] = "1"
        response = client.get(sample_url(route, arguments), parameters)
        assert set(response.wsgi_request.GET) == declaration.names, name  # what the view was given
    assert len(routes) >= 40
