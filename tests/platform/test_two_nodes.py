"""Two stateless web nodes, one PostgreSQL, one Redis (issue 10): a change made through one node is
what the other serves next, although both keep pages in the shared cache.

Two gunicorn instances serve one PostgreSQL database with CATALOG_PAGE_CACHE=shared (pages in Redis,
db CATALOG_TWO_NODE_REDIS_DB). A curator signs in on node A and verifies a rule through the admin;
node B, which had the rule's page cached, serves it verified at once, and answers the ETag it gave
before with the new page rather than a 304. Skipped when PostgreSQL or Redis does not answer locally;
under CI=true that is a failure (like the corpus tests, tests/conftest.py).
"""

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from benchmarks.site import ROOT, build_database, serve
from tests.constants import CERTUTIL_ID, EXAMPLES
from tests.two_nodes import fresh_database, redis_answers, unreachable

# It uses PostgreSQL and Redis whatever the run's database: scripts/test.sh runs it in the PostgreSQL pass.
pytestmark = pytest.mark.postgresql_only

REDIS_DB = int(os.environ.get("CATALOG_TWO_NODE_REDIS_DB", "11"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
PASSWORD = "two-nodes-" + os.urandom(8).hex()


@pytest.fixture(scope="module")
def database_url():
    url = fresh_database("_two_nodes")  # beside the run's own database
    if not redis_answers(REDIS_DB):
        unreachable("needs Redis at 127.0.0.1:6379")
    build_database(url, [str(EXAMPLES)], source="examples")
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "createsuperuser",
            "--noinput",
            "--username",
            "curator",
            "--email",
            "curator@example.org",
        ],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return url


def fetch(opener, url: str, data: dict | None = None, headers: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    # One name for both nodes, as behind a load balancer (absolute links in pages are built from it).
    request = urllib.request.Request(url, data=body, headers={"Host": "localhost", **(headers or {})})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_a_change_through_one_node_is_served_by_the_other(database_url):
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        rule_pk = conn.execute("SELECT id FROM catalog_rule WHERE uuid = %s", (CERTUTIL_ID,)).fetchone()[0]
    shared = {"CATALOG_CACHE_URL": REDIS_URL, "CATALOG_PAGE_CACHE": "shared"}
    page = f"/rules/{CERTUTIL_ID}/"
    anonymous = urllib.request.build_opener()
    with serve(database_url, workers=1, env=shared) as node_a, serve(database_url, workers=1, env=shared) as node_b:
        status, headers, before = fetch(anonymous, node_b + page)
        assert status == 200 and "badge-verified" not in before
        status, again, _ = fetch(anonymous, node_b + page)
        assert again["X-Page-Cache"] == "hit"  # node B keeps it in Redis ...
        assert fetch(anonymous, node_a + page)[1]["X-Page-Cache"] == "hit"  # ... which node A shares
        etag = headers["ETag"]
        assert fetch(anonymous, node_b + page, headers={"If-None-Match": etag})[0] == 304

        curator = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        _, _, login = fetch(curator, node_a + "/admin/login/")
        status, _, _ = fetch(
            curator,
            node_a + "/admin/login/?next=/admin/",
            {"username": "curator", "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(login)},
        )
        assert status == 200
        _, _, changelist = fetch(curator, node_a + "/admin/catalog/rule/")
        status, _, done = fetch(
            curator,
            node_a + "/admin/catalog/rule/",
            {"action": "verify", "_selected_action": str(rule_pk), "csrfmiddlewaretoken": csrf_token(changelist)},
        )
        assert status == 200 and "Verified 1 rule." in done  # the admin's message

        status, after_headers, after = fetch(anonymous, node_b + page, headers={"If-None-Match": etag})
        assert status == 200 and "badge-verified" in after  # not the cached page, not a 304
        assert after_headers["ETag"] != etag and after_headers["X-Page-Cache"] == "miss"
        assert "badge-verified" in fetch(anonymous, node_a + page)[2]
        api = fetch(anonymous, node_b + f"/api/rules/{CERTUTIL_ID}/")[2]
        assert '"verified":true' in api.replace(" ", "")
