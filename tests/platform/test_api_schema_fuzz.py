"""The API's OpenAPI schema, fuzzed with schemathesis: no generated request may end in a 5xx.

Schemathesis reads /api/schema/ (drf-spectacular's, the one /api/docs/ shows) and, for every
operation, generates requests from the declared parameters and bodies, valid and invalid. They go
through the WSGI application in-process, inside the test's transaction, on whichever database
this run uses. The number of examples per operation is bounded (SCHEMA_FUZZ_EXAMPLES, default 25)
so the whole module takes seconds; raise it locally for a deeper run.

Throttle counters are cleared before each request: the point is to reach the views, not to
measure the rate limits (tests/platform/test_request_limits.py does that).
"""

import os

import pytest
import schemathesis
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "25"))


@pytest.fixture
def api_schema(db):
    """The schema, read through the WSGI application; requests then go through it too.

    As Django's test client does, the connection is not closed at the end of each request: the
    test's transaction (rolled back afterwards) must outlive them.
    """
    from config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests every run, so a failure repeats
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_ends_in_a_server_error(case):
    caches["shared"].clear()
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}\n{case.as_curl_command()}\n"
        f"{response.text[:2000]}"
    )
