"""Architecture issue, views do the work: /api/changes/ and /api/coverage/ in the OpenAPI schema, and
/coverage/'s long parts as templates. (The rule page's query count: tests/browse/test_pages.py.)

/api/changes/ and /api/coverage/ were missing from /api/schema/.

Both are DRF views now (catalog.platform.json_views) only so drf-spectacular can describe them: the
documented shapes are checked against real answers here, and what the plain Django views did
(no session read, JSON whatever the Accept header, Django's 404, their own 400/415 answers) is
checked to be unchanged. tests/platform/test_api_schema_fuzz.py fuzzes both operations.
"""

import json

import pytest

pytestmark = pytest.mark.django_db

EVENTS = "sysmon:1,security:4688"


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def check_shape(schema, node, value, where="$"):
    """Every object in `value` has exactly the documented properties (the optional ones may be absent)."""
    node = resolve(schema, node)
    if "oneOf" in node:
        errors = []
        for option in node["oneOf"]:
            try:
                return check_shape(schema, option, value, where)
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: matches no documented shape: {errors}")
    if node.get("type") == "object" and "properties" in node:
        assert isinstance(value, dict), where
        documented, required = set(node["properties"]), set(node.get("required", []))
        assert required <= set(value) <= documented, (where, sorted(set(value) ^ documented))
        for key, item in value.items():
            check_shape(schema, node["properties"][key], item, f"{where}.{key}")
    elif node.get("type") == "array":
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            check_shape(schema, node["items"], item, f"{where}[{i}]")
    elif value is None:
        assert node.get("nullable"), f"{where}: null is not documented"


def answer_schema(schema, path, method, status="200"):
    return schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_both_endpoints_are_documented_with_their_parameters(schema):
    assert set(schema["paths"]["/api/changes/"]) == {"get"}
    assert set(schema["paths"]["/api/coverage/"]) == {"get", "post"}
    names = {p["name"] for p in schema["paths"]["/api/changes/"]["get"]["parameters"]}
    assert names == {"run", "page", "source"}
    names = {p["name"] for p in schema["paths"]["/api/coverage/"]["get"]["parameters"]}
    assert names == {"events", "logsources", "unfilled", "rules"}
    body = schema["paths"]["/api/coverage/"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json"}
    assert set(resolve(schema, body["application/json"]["schema"])["properties"]) == {
        "events",
        "logsources",
        "unfilled",
        "sysmon_config",
    }


def test_the_documented_changes_shapes_are_the_real_ones(client, schema, example_rules):
    documented = answer_schema(schema, "/api/changes/", "get")
    listing = client.get("/api/changes/").json()
    assert listing["results"], "the session's import of the example rules changed rules"
    check_shape(schema, documented, listing)
    run = client.get("/api/changes/", {"run": listing["results"][0]["run"]}).json()
    check_shape(schema, documented, run)
    page_schema = resolve(schema, resolve(schema, documented)["oneOf"][0])
    with pytest.raises(AssertionError):  # the check can fail: a run is not a page of runs
        check_shape(schema, page_schema, run)
    unknown = client.get("/api/changes/", {"pag": "2"})
    assert unknown.status_code == 400
    check_shape(schema, answer_schema(schema, "/api/changes/", "get", "400"), unknown.json())


def test_the_documented_coverage_shapes_are_the_real_ones(client, schema, example_rules):
    documented = answer_schema(schema, "/api/coverage/", "get")
    answer = client.get("/api/coverage/", {"events": EVENTS}).json()
    assert answer["rules"]["runnable"] and answer["techniques"]["covered"]
    check_shape(schema, documented, answer)
    check_shape(schema, documented, client.get("/api/coverage/", {"events": EVENTS, "rules": "0"}).json())
    posted = client.post("/api/coverage/", json.dumps({"events": EVENTS.split(",")}), content_type="application/json")
    assert posted.status_code == 200 and posted.json() == answer
    bad = client.get("/api/coverage/", {"events": "sysmon"})
    assert bad.status_code == 400
    check_shape(schema, answer_schema(schema, "/api/coverage/", "get", "400"), bad.json())


def test_the_json_views_answer_as_the_plain_views_did(client, example_rules):
    # JSON whatever the client accepts, and `format` is no renderer switch (DRF's would 404 or 406).
    for url in ("/api/changes/", f"/api/coverage/?events={EVENTS}"):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200 and response["Content-Type"] == "application/json", url
        assert "Cookie" not in response.get("Vary", ""), url  # no session read: cacheable like the page
    assert client.get("/api/changes/", {"format": "xml"}).status_code == 200
    assert client.get("/api/coverage/", {"events": EVENTS, "format": "json"}).status_code == 400  # not its parameter
    # Django's 404 page for an unknown run, as before (DRF would answer {"detail": ...}).
    missing = client.get("/api/changes/", {"run": "999999"})
    assert missing.status_code == 404 and not missing["Content-Type"].startswith("application/json")
    # The coverage view's own answers: a form post is a 415, bad JSON a 400, PUT a 405.
    assert client.post("/api/coverage/", {"events": "sysmon:1"}).status_code == 415
    assert client.post("/api/coverage/", "{", content_type="application/json").status_code == 400
    assert client.put("/api/coverage/", "{}", content_type="application/json").status_code == 405


# -- /coverage/'s long parts are templates now (they were HTML written in catalog/coverage/render.py) ------
def test_the_coverage_parts_escape_every_value():
    from django.template.loader import render_to_string

    from catalog.coverage.matrix import Cell

    evil = '<b a="1">&\''
    escaped = "&lt;b a=&quot;1&quot;&gt;&amp;&#x27;"
    cell = Cell(evil, evil, count=0, total=1, suggestions=[{"token": evil, "label": "x", "rules": 2}], subs_total=1)
    matrix = render_to_string("coverage/_matrix_cells.html", {"cells": [cell]})
    assert matrix.count(escaped) == 3 and "<b " not in matrix  # the link, the id, the name
    assert matrix.startswith('<li class="cell heat-0"><a href="/attack/&lt;b') and "0/1 sub-techniques" in matrix
    blind = render_to_string("coverage/_blind_cells.html", {"cells": [cell, Cell("T1", "", 0, 2)]})
    assert blind.count(escaped) == 4 and "<b " not in blind
    assert '(1 rule in the catalog)</span>: collect <code class="token">' in blind
    assert "to run 2 more rules</li>" in blind
    assert blind.endswith('"tid">T1</span> unknown</a> <span class="muted">(2 rules in the catalog)</span></li>')
    box = {"token": evil, "checked": True, "rules": 1}
    boxes = render_to_string("coverage/_logsource_boxes.html", {"sources": [box, {**box, "checked": False}]})
    assert boxes.split("\n") == [
        f'<label class="check"><input type="checkbox" name="logsources" value="{escaped}" checked> '
        f'<code>{escaped}</code> <span class="muted">1 rule</span></label>',
        f'<label class="check"><input type="checkbox" name="logsources" value="{escaped}"> '
        f'<code>{escaped}</code> <span class="muted">1 rule</span></label>',
    ]
    provider = {
        "name": evil,
        "whole": {"token": "p:*", "checked": False},
        "events": [{"token": "p:1", "checked": True, "event_id": 1, "title": evil}],
    }
    boxes = render_to_string("coverage/_provider_boxes.html", {"provider": provider})
    assert boxes.split("\n") == [
        f'<label class="check"><input type="checkbox" name="events" value="p:*"> every {escaped} event <code>p:*</code>'
        "</label>",
        f'<label class="check"><input type="checkbox" name="events" value="p:1" checked> <code>1</code> {escaped}'
        "</label>",
    ]
