"""Every view reads only the query parameters it declares (catalog.platform.parameters).

The page cache drops an anonymous GET's undeclared parameters before the view runs; a view that reads
one anyway works in every test with the cache off and ignores the parameter in production. Here each
route that declares its parameters is requested with all of them (and an undeclared probe), with a
QueryDict that records every name read during the request (tests/parameter_reads.py): the view's,
its query functions', its template tags', a streamed body's.
"""

import pytest

from catalog.platform.parameters import declaration_of
from tests.constants import CERTUTIL_ID
from tests.parameter_reads import (
    PROBE,
    RecordingQueryDict,
    declared_routes,
    sample_arguments,
    sample_url,
    undeclared_reads,
    with_recording,
)

pytestmark = pytest.mark.django_db
# A plausible value for each parameter, so the request takes the path that reads the others.
VALUES = {
    "target": "splunk",
    "pipeline": "sysmon",
    "level": "high",
    "status": "stable",
    "product": "windows",
    "category": "process_creation",
    "service": "security",
    "events": "sysmon:1",
    "logsources": "windows:process_creation:",
    "uncovered": "1",
    "format": "json",
    "retired": "true",
    "sort": "title",
    "lang": "en",
    "type": "rule",
    "indicators": "field=Image&value=certutil",
    "kind": "eq",
    "class": "partial",
    "polarity": "looks_for",
    "verified": "false",
    "has_test_events": "false",
    "q": "certutil",
}
# Where a name means something else: the conversion API's `format` is the backend's output format.
ROUTE_VALUES = {"conversion:api-rule-query": {"format": "default"}}


@pytest.fixture
def arguments(db):
    return sample_arguments()


@pytest.fixture
def recording(settings):
    settings.MIDDLEWARE = with_recording(settings.MIDDLEWARE)


def test_every_declared_route_is_requested(arguments):
    """The tests below reach every route that declares (a new one needs a sample for its URL argument),
    and the pages this issue is about are among them."""
    from django.urls import resolve

    routes = {name: (route, view) for name, route, view in declared_routes()}
    assert {
        "browse:rule-detail",
        "browse:rule-list",
        "exports:siem-export",
        "browse:api-rule-list",
        "conversion:api-rule-query",
        "coverage:api",
    } <= set(routes)
    for name, (route, view) in routes.items():
        assert resolve(sample_url(route, arguments)).func is view, name


def test_no_view_reads_a_parameter_it_does_not_declare(client, arguments, recording):
    failures = {}
    for name, route, view in declared_routes():
        declaration = declaration_of(view)
        values = {**VALUES, **ROUTE_VALUES.get(name, {})}
        parameters = {parameter: values.get(parameter, "1") for parameter in sorted(declaration.names)}
        if not declaration.refuses_others:
            parameters[PROBE] = "1"
        response = client.get(sample_url(route, arguments), parameters)
        if response.streaming:
            b"".join(response.streaming_content)  # a streamed body may read parameters as it goes
        assert response.status_code < 500, (name, response.status_code)
        undeclared = undeclared_reads(response.wsgi_request)
        if undeclared:
            failures[name] = sorted(undeclared)
        if not declaration.refuses_others:  # dropped by the page cache's key: the view never saw it
            assert PROBE not in response.wsgi_request.GET.dict(), name
    assert not failures, f"views read query parameters they do not declare: {failures}"


def test_an_undeclared_read_is_caught(client, arguments, recording, monkeypatch):
    """The rule page's conversion section (a template tag) reads ?target= and ?pipeline=: without them in the
    rule page's declaration the check above fails."""
    from catalog.browse import views
    from catalog.platform.parameters import ATTRIBUTE, declare

    monkeypatch.setattr(views.rule_detail, ATTRIBUTE, declare(["pipeline"]))
    response = client.get(f"/rules/{CERTUTIL_ID}/", {"target": "splunk"})
    assert response.status_code == 200
    assert undeclared_reads(response.wsgi_request) == {"target"}


def test_reads_through_a_copy_are_recorded():
    reads = set()
    query = RecordingQueryDict.recording("a=1&b=2", reads)
    assert reads == set()  # building it reads nothing
    copied = query.copy()
    copied.appendlist("c", "3")  # a write
    assert copied.get("b") == "2" and "d" not in query and query.getlist("a") == ["1"]
    assert reads == {"a", "b", "d"}
