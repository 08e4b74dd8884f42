"""Running the catalog as a service (catalog/operations): health probes, Prometheus metrics, JSON logs."""

import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from catalog.operations import health, request_log
from tests.constants import CERTUTIL_ID, EXAMPLES, ROOT

TOKEN = "metrics-" + os.urandom(8).hex()
CACHE_ALIASES = ("default", "pages", "shared", "conversions")


def ready(client, **extra):
    response = client.get("/health/", **extra)
    return response, json.loads(response.content)


# -- /health/ and /health/live/ ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_reports_every_component_up(client):
    response, body = ready(client)
    assert response.status_code == 200 and body["status"] == "up" and body["down"] == []
    components = body["components"]
    assert components["database:default"] == {**components["database:default"], "status": "up"}
    assert components["database:default"]["vendor"] == connections["default"].vendor
    for alias in CACHE_ALIASES:
        assert components[f"cache:{alias}"]["status"] == "up", alias
    assert components["queue"]["status"] == "up"
    assert components["queue"]["queued"] == {"import": 0, "match": 0}
    assert "no-store" in response["Cache-Control"]


def test_liveness_touches_no_dependency(client, monkeypatch):
    def broken():
        raise AssertionError("liveness must not check dependencies")

    monkeypatch.setattr(health, "readiness", broken)  # and no database access is allowed in this test
    response = client.get("/health/live/")
    assert response.status_code == 200 and json.loads(response.content) == {"status": "up"}


def unreachable_database():
    """A connection like the test database's, but to a server or file that is not there."""
    settings_dict = dict(connections["default"].settings_dict)
    if connections["default"].vendor == "postgresql":
        settings_dict.update(HOST="127.0.0.1", PORT="9")  # discard port: nothing listens, refused at once
    else:
        settings_dict["NAME"] = "/nonexistent-folder/for/catalog-health/db.sqlite3"
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")


@pytest.mark.django_db
def test_health_is_503_and_names_the_database_when_it_is_unreachable(client, monkeypatch):
    broken = unreachable_database()
    monkeypatch.setattr(health, "database_connections", lambda: [broken])
    response, body = ready(client)
    assert response.status_code == 503 and body["status"] == "down"
    assert body["down"] == ["database:default"]
    assert body["components"]["database:default"]["error"] == "OperationalError"
    assert "9" not in body["components"]["database:default"]["error"]  # no host, port or path is shown
    broken.close()


@pytest.mark.django_db
def test_health_is_503_and_names_a_cache_that_is_down(client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"},
    }
    response, body = ready(client)
    assert response.status_code == 503 and body["down"] == ["cache:shared"]
    assert body["components"]["cache:shared"]["error"] == "ConnectionError"
    assert body["components"]["database:default"]["status"] == "up"


@pytest.mark.django_db
def test_health_reports_the_oldest_queued_jobs_age_and_fails_past_the_limit(client, settings):
    from catalog.models import MatchJob

    MatchJob.objects.create(file_name="old.evtx", requested_at=timezone.now() - timedelta(hours=1))
    response, body = ready(client)  # by default a waiting job does not make the node unready
    queue = body["components"]["queue"]
    assert response.status_code == 200 and queue["queued"] == {"import": 0, "match": 1}
    assert 3600 <= queue["oldest_queued_seconds"]["match"] < 4000 and queue["oldest_queued_seconds"]["import"] is None
    settings.CATALOG_HEALTH_QUEUE_MAX_AGE_SECONDS = 600
    response, body = ready(client)
    assert response.status_code == 503 and body["down"] == ["queue"]
    assert "oldest queued match job" in body["components"]["queue"]["error"]


@pytest.mark.django_db
def test_probes_pass_host_checks_https_redirect_and_page_cache(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.CATALOG_PAGE_CACHE_SECONDS = 600
    assert client.get("/", HTTP_HOST="10.1.2.3:8000").status_code == 400  # the site itself checks the host
    for path in ("/health/", "/health/live/"):
        for _ in range(2):
            response = client.get(path, HTTP_HOST="10.1.2.3:8000")  # a kubelet probes the pod's address
            assert response.status_code == 200, path
            assert "X-Page-Cache" not in response and "no-store" in response["Cache-Control"]


# -- /metrics ----------------------------------------------------------------------------------------------


def scrape(client, **extra):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **extra)


@pytest.mark.django_db
def test_metrics_are_refused_unless_configured(client, settings):
    assert settings.CATALOG_METRICS_TOKEN == "" and settings.CATALOG_METRICS_ALLOWED_ADDRESSES == []
    response = scrape(client)
    assert response.status_code == 403 and b"catalog_" not in response.content
    assert b"CATALOG_METRICS_TOKEN" in response.content


@pytest.mark.django_db
def test_metrics_need_the_bearer_token(client, settings):
    settings.CATALOG_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer \u00e9t\u00e9").status_code == 403
    response = scrape(client)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_metrics_allowed_addresses_apply_and_forwarded_for_is_not_trusted_by_default(client, settings):
    settings.CATALOG_METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8", "192.0.2.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 403
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # behind one proxy
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 200
    settings.CATALOG_METRICS_TOKEN = TOKEN  # with both set, both apply
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403
    assert scrape(client, REMOTE_ADDR="192.0.2.7").status_code == 200
    assert scrape(client, REMOTE_ADDR="192.0.2.8").status_code == 403


def families(response) -> dict:
    """The scrape parsed strictly by prometheus_client's own parser, by family name."""
    return {family.name: family for family in text_string_to_metric_families(response.content.decode("utf-8"))}


def sample(found: dict, family: str, suffix: str = "", **labels) -> float:
    values = [
        s.value
        for s in found[family].samples
        if s.name == family + suffix and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert values, (family, labels)
    return sum(values)


def counter(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_metrics_count_requests_cache_hits_match_events_and_jobs(client, settings, example_rules):
    from catalog.conversion import stored
    from catalog.conversion.converter import choose
    from catalog.models import ImportJob, Rule

    settings.CATALOG_METRICS_TOKEN = TOKEN
    settings.CATALOG_PAGE_CACHE_SECONDS = 600
    before = {
        "hit": counter("catalog_page_cache_requests_total", result="hit"),
        "events": counter("catalog_match_events_total", via="request"),
        "conversion_miss": counter("catalog_conversion_cache_requests_total", result="miss"),
        "conversion_hit": counter("catalog_conversion_cache_requests_total", result="hit"),
    }
    assert client.get("/").status_code == 200
    assert client.get("/")["X-Page-Cache"] == "hit"
    assert client.get("/no-such-page/").status_code == 404
    events = [{"Image": r"C:\Windows\System32\certutil.exe", "CommandLine": "certutil -urlcache -f http://x/a"}] * 3
    assert client.post("/api/match/", json.dumps(events), content_type="application/json").status_code == 200
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    stored.cache().clear()
    for _ in range(2):  # converted (a miss), then read from the cache (a hit)
        stored.rule_query(rule, choose("splunk"))
    ImportJob.objects.create(source=rule.source, status=ImportJob.Status.FAILED)

    found = families(scrape(client))
    assert sample(found, "django_http_requests_latency_seconds_by_view_method", "_count", view="browse:overview") >= 2
    responses = "django_http_responses_total_by_status_view_method"
    assert sample(found, responses, "_total", view="browse:overview", status="200", method="GET") >= 2
    assert sample(found, responses, "_total", view="<unresolved>", status="404", method="GET") >= 1
    assert sample(found, responses, "_total", view="matching:api-match", status="200", method="POST") >= 1
    assert sample(found, "catalog_page_cache_requests", "_total", result="hit") == before["hit"] + 1
    assert sample(found, "catalog_match_events", "_total", via="request") == before["events"] + 3
    assert sample(found, "catalog_conversion_cache_requests", "_total", result="miss") == before["conversion_miss"] + 1
    assert sample(found, "catalog_conversion_cache_requests", "_total", result="hit") == before["conversion_hit"] + 1
    assert sample(found, "catalog_jobs", kind="import", state="failed") == 1
    assert sample(found, "catalog_jobs", kind="match", state="queued") == 0
    assert sample(found, "catalog_jobs_queue_up") == 1


@pytest.mark.django_db
def test_metric_labels_stay_bounded_whatever_the_client_sends(client, settings):
    settings.CATALOG_METRICS_TOKEN = TOKEN
    for index in range(3):
        client.generic(f"X-CUSTOM-{index}", f"/random-{index}/")
    found = families(scrape(client))
    methods = {s.labels["method"] for s in found["django_http_requests_latency_seconds_by_view_method"].samples}
    views = {s.labels["view"] for s in found["django_http_requests_latency_seconds_by_view_method"].samples}
    assert not any(m.startswith("X-CUSTOM") for m in methods) and "<invalid method>" in methods
    assert not any("random" in v for v in views)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_", "PROMETHEUS_"))}
    full_env.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


GET_LIVE = """
import django, sys
django.setup()
from django.test import Client
for _ in range(int(sys.argv[1] if len(sys.argv) > 1 else {count})):
    assert Client().get("/health/live/").status_code == 200
"""


def test_multiprocess_mode_adds_up_every_workers_metrics(tmp_path):
    """Two worker processes count requests; a third one's /metrics reports the sum of both."""
    folder = tmp_path / "prometheus"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    for count in (2, 3):
        result = run_python(GET_LIVE.format(count=count), **env)
        assert result.returncode == 0, result.stderr
    assert any(folder.glob("*.db"))
    scraper = (
        "import django\ndjango.setup()\nfrom django.test import Client\n"
        f"print(Client().get('/metrics', HTTP_AUTHORIZATION='Bearer {TOKEN}').content.decode())"
    )
    result = run_python(scraper, CATALOG_METRICS_TOKEN=TOKEN, **env)
    assert result.returncode == 0, result.stderr
    found = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    responses = "django_http_responses_total_by_status_view_method"
    assert sample(found, responses, "_total", view="operations:health-live", status="200") == 5
    assert sample(found, "catalog_jobs_queue_up") == 0  # this throwaway database has no tables: said, not a 500


# -- JSON request logs -------------------------------------------------------------------------------------


@pytest.fixture
def request_log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(request_log.JsonFormatter())
    logger = logging.getLogger("catalog.requests")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.django_db
def test_json_request_log_has_one_strict_json_object_per_request(client, settings, request_log_lines):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    client.get("/rules/%22quoted%22%0A%C3%A9/", REMOTE_ADDR="10.0.0.1")
    client.get("/health/live/", REMOTE_ADDR="10.0.0.1")
    lines = request_log_lines()
    assert len(lines) == 3
    first, odd, live = lines
    assert first["method"] == "GET" and first["path"] == "/" and first["status"] == 200
    assert first["view"] == "browse:overview" and first["client"] == "203.0.113.7"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert first["logger"] == "catalog.requests" and first["level"] == "INFO" and first["time"].endswith("+00:00")
    assert odd["path"] == '/rules/"quoted"\n\u00e9/' and odd["status"] == 404 and odd["view"] is None
    assert live["view"] == "operations:health-live" and live["client"] == "10.0.0.1"


def test_log_format_json_setting_writes_json_lines_to_the_console(tmp_path):
    code = GET_LIVE.format(count=1) + "import logging\nlogging.getLogger('catalog').warning('two\\nlines')\n"
    result = run_python(code, CATALOG_LOG_FORMAT="json", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [line["logger"] for line in lines] == ["catalog.requests", "catalog"]
    assert lines[0]["path"] == "/health/live/" and lines[0]["status"] == 200
    assert lines[1]["message"] == "two\nlines" and lines[1]["level"] == "WARNING"


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("CATALOG_LOG_FORMAT", "xml", "CATALOG_LOG_FORMAT is 'text' (the default) or 'json'"),
        ("CATALOG_METRICS_ALLOWED_ADDRESSES", "10.0.0.0/8,not-an-address", "CATALOG_METRICS_ALLOWED_ADDRESSES:"),
    ],
)
def test_bad_operations_settings_fail_loudly(name, value, error):
    result = run_python("import django\ndjango.setup()", **{name: value})
    assert result.returncode != 0 and error in result.stderr


# -- a real server whose PostgreSQL database goes away -----------------------------------------------------

PG_SERVER = os.environ.get("TEST_DATABASE_URL") or (
    os.environ["DATABASE_URL"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres")
    else "postgres://postgres@127.0.0.1:5432/postgres"
)


def fetch(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.postgresql_only  # its own PostgreSQL database whatever the run's: run in the PostgreSQL pass
def test_health_is_503_while_postgresql_refuses_the_database_and_200_again_after(tmp_path):
    """gunicorn serving a throwaway database; the database (never the shared server) is closed to
    connections and its sessions ended, then reopened."""
    import psycopg

    from benchmarks.site import build_database, fresh_postgres_database, serve

    server, database = PG_SERVER.rsplit("/", 1)
    # beside the run's own database; one per interpreter, so scripts/newest_python.sh never collides with it
    name = f"{database.split('?')[0]}_health_py{sys.version_info[0]}{sys.version_info[1]}"
    admin_url = (server + "/postgres").replace("postgres://", "postgresql://", 1)
    try:
        url = fresh_postgres_database(server + "/postgres", name)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs every test, but this one needs PostgreSQL at {PG_SERVER} ({exc})", pytrace=False)
        pytest.skip(f"needs PostgreSQL at {PG_SERVER}")
    build_database(url, [str(EXAMPLES)], source="examples")

    def close_database(closed: bool):
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if closed else "true"}')
            if closed:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])

    try:
        with serve(url, workers=1, env={"CATALOG_DB_CONNECT_TIMEOUT": "5"}) as base:
            status, body = fetch(base + "/health/")
            assert status == 200 and body["components"]["database:default"]["vendor"] == "postgresql"
            close_database(True)
            try:
                status, body = fetch(base + "/health/")
                assert status == 503 and "database:default" in body["down"]
                assert body["components"]["database:default"]["status"] == "down"
                assert fetch(base + "/health/live/") == (200, {"status": "up"})  # liveness does not care
            finally:
                close_database(False)
            for _ in range(50):  # the next probe connects afresh
                status, body = fetch(base + "/health/")
                if status == 200:
                    break
                time.sleep(0.1)
            assert status == 200 and body["down"] == []
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
