"""Malformed requests get a clear 400, never a 500 (issue 8, section 6): NUL bytes (PostgreSQL
rejects them in text), lone surrogates, over-long query values (SQLite's LIKE limit); long URLs do
not make the page cache warn; every response carries a Permissions-Policy; admin logins are
throttled per username and client.
"""

import base64
import time
import warnings

import pytest
from django.contrib.auth import authenticate
from django.core.cache import caches
from django.core.cache.backends.base import CacheKeyWarning
from django.test import Client, RequestFactory

pytestmark = pytest.mark.django_db

NUL_ROUTES = [
    "/fields/?product=%00",
    "/fields/%00/",
    "/attack/%00/",
    "/attack/tactics/%00/",
    "/events/%00/1/",
    "/events/%00/any/",
]


@pytest.mark.parametrize("url", NUL_ROUTES + ["/api" + url for url in NUL_ROUTES])
def test_nul_bytes_in_the_path_or_query_are_a_400(client, url):
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code)
    assert b"NUL character" in response.content
    if url.startswith("/api/"):
        assert response["Content-Type"] == "application/json" and "NUL" in response.json()["error"]


@pytest.mark.parametrize(
    "url", ["/fields/%ED%A0%80/", "/rules/?q=%ED%A0%80", "/api/rules/?q=%ED%A0%80", "/rules/?%ED%A0%80=1", "/%FF/"]
)
def test_lone_surrogates_and_invalid_utf8_are_a_400(client, url):
    response = client.get(url)
    assert response.status_code == 400 and b"not valid UTF-8" in response.content


@pytest.mark.parametrize(
    "url, param", [("/rules/", "q"), ("/api/rules/", "q"), ("/indicators/", "value"), ("/api/indicators/", "value")]
)
def test_over_long_query_values_are_a_400(client, url, param):
    response = client.get(url, {param: "a" * 100_000})
    assert response.status_code == 400 and b"too long (at most 1000 characters)" in response.content
    assert client.get(url, {param: "a" * 1000}).status_code == 200


def test_nul_in_a_posted_form_is_a_400(client):
    response = client.post("/match/", {"event": '{"A": "x\x00"}'})
    assert response.status_code == 400 and b"NUL character in the posted field 'event'" in response.content


def test_a_long_url_is_cached_without_a_cache_key_warning(client, settings):
    settings.CATALOG_PAGE_CACHE_SECONDS = 300
    caches["pages"].clear()
    url = "/rules/?" + "&".join(f"tag=attack.t{1000 + n}.001" for n in range(20))  # ~430 chars, 20 values (the cap)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        assert client.get(url)["X-Page-Cache"] == "miss"
        assert client.get(url)["X-Page-Cache"] == "hit"
    caches["pages"].clear()


@pytest.mark.parametrize("url", ["/", "/rules/", "/api/rules/", "/no-such-page/", "/fields/%00/", "/admin/login/"])
def test_every_response_sends_a_permissions_policy(client, url):
    policy = client.get(url)["Permissions-Policy"]
    assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


# --- login throttling --------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(django_user_model, settings):
    settings.CATALOG_LOGIN_FAILURE_LIMIT = 5
    return django_user_model.objects.create_user("curator", password=PASSWORD, is_staff=True)


def login(client, password, username="curator"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_admin_logins_lock_out_after_repeated_failures(client, staff):
    assert [login(client, f"guess {n}").status_code for n in range(5)] == [200] * 5  # the form, again
    locked = login(client, "guess 6")
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert b"Too many failed logins" in locked.content
    assert login(client, PASSWORD).status_code == 429  # even the right password, for the window
    assert login(client, PASSWORD, username="CURATOR").status_code == 429  # usernames compared casefolded
    # The backend refuses too, so no other login path (DRF basic authentication) gets around the lock.
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    assert authenticate(request, username="curator", password=PASSWORD) is None
    basic = base64.b64encode(f"curator:{PASSWORD}".encode()).decode()
    assert client.get("/api/rules/", HTTP_AUTHORIZATION=f"Basic {basic}").status_code in (401, 403)
    # Per username and client: the same user from another address is not locked out.
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert login(elsewhere, PASSWORD).status_code == 302


def test_the_lock_ends_with_its_window(client, staff, settings):
    settings.CATALOG_LOGIN_LOCKOUT_SECONDS = 4  # the window opens at the first failure
    for n in range(5):
        login(client, f"guess {n}")
    locked = login(client, PASSWORD)
    assert locked.status_code == 429
    time.sleep(int(locked["Retry-After"]) + 0.5)
    assert login(client, PASSWORD).status_code == 302


def test_a_successful_login_forgets_earlier_failures(client, staff):
    for n in range(4):
        login(client, f"guess {n}")
    assert login(client, PASSWORD).status_code == 302
    client.logout()
    assert [login(client, f"again {n}").status_code for n in range(4)] == [200] * 4
    assert login(client, PASSWORD).status_code == 302
