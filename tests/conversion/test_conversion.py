"""Conversion of rules to SIEM queries (catalog.conversion): targets, exactness, cache, API, rule page, preview.

The exactness tests compare with pySigma run the way its own documentation runs it
(SigmaCollection + backend + its pipeline resolver), not with strings this project wrote.
"""

import json
import re
import sys
import textwrap
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.plugins import InstalledSigmaPlugins

from catalog.conversion import stored, targets
from catalog.conversion.converter import choose, convert
from catalog.conversion.sources import read_rules
from catalog.conversion.targets import DEFAULT_TARGETS, UnknownChoice, registry
from catalog.core.sigma.loading import Limits
from catalog.core.sigma.problems import error_message
from catalog.models import Indicator, Rule
from tests.constants import CERTUTIL, CERTUTIL_ID, FILTER_RULE_ID, REFERENCE_RULE_ID, TEMPORAL_CORRELATION_ID
from tests.conversion.corpus_conversion import check_whole_corpus

REFERENCE_SPLUNK = (
    'source="WinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 '
    'Image IN ("*\\\\net.exe", "*\\\\net1.exe") OR OriginalFileName IN ("net.exe", "net1.exe") '
    'CommandLine IN ("* use", "* sessions") OR CommandLine IN ("* use *", "* sessions *")'
)
# The targets converted whole in the corpus test: one per backend (the other kusto targets take minutes with
# azure_monitor's 700 pipeline items; their counts are in conversion/known.py). Lucene's whole corpus is checked
# by the whole-catalog export test (tests/exports/test_siem_exports.py), which then exports those queries.
CORPUS_TARGETS = ("splunk", "esql", "eql", "kusto")


def pysigma_query(yaml_text: str, target: str, pipeline: str) -> str:
    """What pySigma itself gives: its plugins' backend (the one the target runs), its resolver's pipelines
    (comma-separated), a SigmaCollection."""
    plugins = InstalledSigmaPlugins.autodiscover()
    pipe = plugins.get_pipeline_resolver().resolve(pipeline.split(",")) if pipeline != "none" else None
    backend = plugins.backends[registry().targets[target].backend_id]
    return "\n".join(backend(processing_pipeline=pipe).convert(SigmaCollection.from_yaml(yaml_text)))


# -- targets -------------------------------------------------------------------------------------------
def test_the_three_families_are_installed_with_their_pipelines():
    reg = registry()
    assert [t for t in DEFAULT_TARGETS if t in reg.targets] == list(DEFAULT_TARGETS)
    families = {reg.targets[t].family for t in DEFAULT_TARGETS}
    assert families == {"splunk", "elastic", "sentinel"}
    assert reg.targets["splunk"].default_pipeline == "sysmon,splunk_windows"
    assert [reg.targets[t].default_pipeline for t in ("lucene", "esql", "eql")] == ["sysmon,ecs_windows"] * 3
    # Microsoft's data shapes: one backend, a target per set of tables, each named by them.
    sentinel = {t: reg.targets[t] for t in ("kusto", "sentinel", "sentinel_securityevent", "sentinel_asim")}
    assert {t.backend_id for t in sentinel.values()} == {"kusto"} and {t.family for t in sentinel.values()} == {
        "sentinel"
    }
    assert [t.default_pipeline for t in sentinel.values()] == [
        "microsoft_xdr",
        "microsoft_xdr",
        "azure_monitor",
        "sentinel_asim",
    ]
    security_log = ((("product", "windows"), ("service", "security")), ("azure_monitor",))
    assert sentinel["sentinel"].routes == (security_log,) and sentinel["kusto"].routes == ()
    assert "Device*" in sentinel["kusto"].label and "SecurityEvent" in sentinel["sentinel_securityevent"].label
    assert "ASIM" in sentinel["sentinel_asim"].label
    assert {"splunk_windows", "splunk_sysmon_acceleration", "sysmon"} <= set(reg.targets["splunk"].pipelines)
    assert {"ecs_windows", "ecs_zeek_beats"} <= set(reg.targets["esql"].pipelines)  # via the package name
    assert {"microsoft_xdr", "sentinel_asim", "azure_monitor"} <= set(reg.targets["kusto"].pipelines)
    assert "sentinel_asim" not in reg.targets["splunk"].pipelines  # kusto-only
    assert reg.targets["splunk"].backend_version.endswith("2.1.0")
    # Formats that download ATT&CK from the network while converting are never offered.
    assert "siem_rule_ndjson" not in reg.targets["lucene"].formats and "default" in reg.targets["lucene"].formats


def test_request_choices_are_validated_and_never_read_as_files():
    assert choose(None).target.id == "splunk" and choose(None).pipelines == ("sysmon", "splunk_windows")
    assert choose("sentinel").routes and choose("sentinel", "sentinel_asim").routes == ()  # routes: the default's
    assert choose("kusto", "none").pipelines == ()
    assert choose("splunk", "sysmon,splunk_windows").pipeline == "sysmon,splunk_windows"
    for target, pipeline, output_format, expected in [
        ("nope", None, None, "Unknown target 'nope'"),
        ("splunk", "/etc/passwd", None, "Pipeline '/etc/passwd' is not available for splunk"),
        ("splunk", "sentinel_asim", None, "not available for splunk"),
        ("lucene", None, "siem_rule_ndjson", "Format 'siem_rule_ndjson' is not available"),
    ]:
        with pytest.raises(UnknownChoice, match=expected):
            choose(target, pipeline, output_format)


def test_a_pip_installed_backend_is_discovered_without_code_changes(tmp_path, monkeypatch):
    """pySigma finds backends in the sigma.backends namespace: a new package there is a new target."""
    import sigma.backends

    package = tmp_path / "sigma" / "backends" / "catalogtest"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from sigma.backends.splunk import SplunkBackend

            class CatalogTestBackend(SplunkBackend):
                name = "Catalog test backend"
                identifier = "catalogtest"

            backends = {"catalogtest": CatalogTestBackend}
            """
        )
    )
    monkeypatch.setattr(sigma.backends, "__path__", [*sigma.backends.__path__, str(tmp_path / "sigma" / "backends")])
    registry.cache_clear()
    try:
        reg = registry()
        assert "catalogtest" in reg.targets and reg.targets["catalogtest"].family == "other"
        text = textwrap.dedent(
            """
            title: t
            logsource: {product: windows, category: process_creation}
            detection: {sel: {Image|endswith: '\\x.exe'}, condition: sel}
            """
        )
        assert convert(read_rules(text, Limits()).rules, choose("catalogtest")).query == 'Image="*\\\\x.exe"'
    finally:
        registry.cache_clear()
        sys.modules.pop("sigma.backends.catalogtest", None)


# -- exactness: the reference rule, as pySigma converts it -----------------------------------------------
@pytest.mark.parametrize("target", DEFAULT_TARGETS)
def test_reference_rule_converts_exactly_as_pysigma(corpus, target):
    rule = corpus.get(uuid=REFERENCE_RULE_ID)
    ours = stored.rule_query(rule, choose(target))
    assert ours.backend_version == registry().targets[target].backend_version
    try:
        expected = pysigma_query(rule.yaml_text, target, ours.pipeline)
    except SigmaError as exc:  # SecurityEvent and ASIM have no OriginalFileName: pySigma's own reason, as it says it
        assert ours.query is None and ours.errors == [error_message(exc)] and ours.unconstrained is None
        assert target in ("sentinel_securityevent", "sentinel_asim")
        return
    assert ours.errors == [] and ours.query == expected
    assert ours.unconstrained is False  # a process_creation rule: Sysmon's channel and event 1, or a table


def test_reference_rule_splunk_query_as_written(corpus):
    assert stored.rule_query(corpus.get(uuid=REFERENCE_RULE_ID), choose("splunk")).query == REFERENCE_SPLUNK


@pytest.mark.long
@pytest.mark.one_database  # conversion is Python over the stored rules; test_reference_rule_... reads them on both
@pytest.mark.parametrize("target", CORPUS_TARGETS)
def test_whole_corpus_converts_without_a_traceback(corpus, target):
    """Every rule ends as a query or pySigma's message, and each query says whether it searches every event;
    the counts are printed (converted bounded below, unconstrained above)."""
    check_whole_corpus(corpus, target)


# -- rules of the example corpus: correlations, filters, unconvertible -----------------------------------
def example_rule(uuid):
    return Rule.objects.only(*stored.RULE_FIELDS).get(uuid=uuid)


def test_a_correlation_of_correlations_converts_with_every_rule_it_needs(example_rules):
    rule = example_rule(TEMPORAL_CORRELATION_ID)
    needed, missing = stored.reference_closure([rule])[rule.pk]
    assert missing == [] and len(needed) == 3  # the event-count correlation, its base rule, the logon rule
    splunk = stored.rule_query(rule, choose("splunk"))
    assert (
        splunk.errors == []
        and "| multisearch" in splunk.query
        and 'event_type="win_successful_network_logon"' in splunk.query
    )
    assert "search event_type_count >= 2" in splunk.query
    # The file's own text, converted by pySigma, holds this correlation's query too.
    whole = Path("rules/correlation/win_security_authentication_bruteforce_correlations.yml").read_text()
    assert splunk.query.strip() in pysigma_query(whole, "splunk", "sysmon,splunk_windows")


def test_a_backend_without_correlations_says_so(example_rules):
    lucene = stored.rule_query(example_rule(TEMPORAL_CORRELATION_ID), choose("lucene"))
    assert lucene.query is None and lucene.errors == [
        "lucene backend failed: NotImplementedError: Backend does not support correlation rules."
    ]


def test_a_filter_is_not_converted_alone(example_rules):
    result = stored.rule_query(example_rule(FILTER_RULE_ID), choose("splunk"))
    assert result.query is None and "A filter is not converted on its own" in result.errors[0]


def test_a_missing_correlation_rule_is_named(example_rules):
    rule = example_rule(TEMPORAL_CORRELATION_ID)
    rule.correlation = {**rule.correlation, "rules": ["no_such_rule_name"]}
    result = stored.rule_query(rule, choose("splunk"))
    assert result.query is None
    assert result.errors[-1] == "The correlation names rules not in the catalog: no_such_rule_name."


def test_legacy_collection_documents_convert_when_the_stored_rule_is_whole(example_rules):
    """A document under `action: global` gets the global title and condition back from the stored rule; a
    repeated document, whose detection merges with the previous one, is refused rather than half converted."""
    with_global = stored.rule_query(example_rule("b719fd8c-ddcc-4102-8253-555aac1cbb35"), choose("splunk"))
    assert with_global.errors == [] and with_global.query.startswith(
        'source="WinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 ParentImage IN ("*\\\\WINWORD.EXE"'
    )
    assert 'Image IN ("*\\\\powershell.exe"' in with_global.query
    repeated = stored.rule_query(example_rule("d365a0c9-65c7-431a-bcd6-82c56e215539"), choose("splunk"))
    assert repeated.query is None and "one document of a legacy collection" in repeated.errors[0]


# -- the cache -----------------------------------------------------------------------------------------
def conversion_cache_queries(queries):
    return [q["sql"] for q in queries.captured_queries if "catalog_conversion_cache" in q["sql"]]


def test_a_cached_query_costs_one_cache_read(example_rules, monkeypatch):
    rule = example_rule(CERTUTIL_ID)
    first = stored.rule_query(rule, choose("kusto"))
    monkeypatch.setattr(stored, "convert_rule", lambda *a, **k: pytest.fail("converted again"))
    with CaptureQueriesContext(connection) as queries:
        again = stored.rule_query(rule, choose("kusto"))
    assert again == first and len(queries) == 1 and len(conversion_cache_queries(queries)) == 1


def test_the_key_holds_target_pipeline_format_and_versions(example_rules, monkeypatch):
    rule = example_rule(CERTUTIL_ID)
    keys = {
        stored.cache_key(rule, [], choose("splunk")),
        stored.cache_key(rule, [], choose("splunk", "sysmon")),
        stored.cache_key(rule, [], choose("splunk", None, "savedsearches")),
        stored.cache_key(rule, [], choose("kusto")),
    }
    assert len(keys) == 4
    before = stored.cache_key(rule, [], choose("splunk"))
    monkeypatch.setattr(targets.Registry, "versions", lambda self, target, pipelines: "pySigma 9.9.9")  # an upgrade
    assert stored.cache_key(rule, [], choose("splunk")) != before


def test_an_unchanged_import_keeps_the_cached_queries_and_a_change_converts_afresh(db, examples, monkeypatch):
    from catalog.importing.importer import import_paths

    assert not import_paths([str(examples)], source="examples").errors
    before = stored.rule_query(example_rule(CERTUTIL_ID), choose("splunk"))
    assert "certutil" in before.query.lower()
    assert not import_paths([str(examples)], source="examples").errors  # nothing changed
    calls = []
    real = stored.convert_rule
    monkeypatch.setattr(stored, "convert_rule", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert stored.rule_query(example_rule(CERTUTIL_ID), choose("splunk")) == before and calls == []
    path = examples / CERTUTIL
    path.write_text(path.read_text().replace("ftp://", "gopher://"), encoding="utf-8")
    assert not import_paths([str(examples)], source="examples").errors
    after = stored.rule_query(example_rule(CERTUTIL_ID), choose("splunk"))
    assert calls == [1] and "gopher://" in after.query and after.query != before.query


# -- the API -------------------------------------------------------------------------------------------
def test_api_rule_query(client, example_rules):
    answer = client.get(f"/api/rules/{CERTUTIL_ID}/query/").json()
    assert set(answer) == {"query", "target", "pipeline", "format", "backend_version", "errors", "unconstrained"}
    assert answer["target"] == "splunk" and answer["pipeline"] == "sysmon,splunk_windows" and answer["errors"] == []
    assert answer["unconstrained"] is False
    kusto = client.get(f"/api/rules/{CERTUTIL_ID}/query/?target=kusto&pipeline=microsoft_xdr").json()
    assert kusto["query"].startswith("DeviceProcessEvents") and kusto["backend_version"].startswith(
        "pySigma-backend-kusto"
    )
    conf = client.get(f"/api/rules/{CERTUTIL_ID}/query/?target=splunk&format=savedsearches").json()
    assert conf["format"] == "savedsearches" and "search = " in conf["query"]
    bad = client.get(f"/api/rules/{CERTUTIL_ID}/query/?target=splunk&pipeline=../../etc/passwd")
    assert bad.status_code == 400 and "choose one of: none, sysmon, splunk_windows" in bad.json()["error"]
    assert client.get("/api/rules/00000000-0000-0000-0000-000000000000/query/").status_code == 404
    unconvertible = client.get(f"/api/rules/{FILTER_RULE_ID}/query/").json()
    assert unconvertible["query"] is None and unconvertible["errors"]


def test_api_hidden_rules_have_no_query(client, example_rules):
    from catalog.publishing.visibility import set_visibility

    set_visibility(Rule.objects.filter(uuid=CERTUTIL_ID), hidden=True)
    assert client.get(f"/api/rules/{CERTUTIL_ID}/query/").status_code == 404


def test_api_targets(client, db):
    answer = client.get("/api/targets/").json()
    ids = [t["id"] for t in answer["targets"]]
    assert ids[: len(DEFAULT_TARGETS)] == list(DEFAULT_TARGETS)
    kusto = answer["targets"][ids.index("kusto")]
    assert kusto["family"] == "sentinel" and kusto["default_pipeline"] == "microsoft_xdr"
    assert kusto["backend"] == "kusto" and kusto["pipeline_by_logsource"] == [] and "Device" in kusto["description"]
    sentinel = answer["targets"][ids.index("sentinel")]
    assert sentinel["backend"] == "kusto" and sentinel["pipeline_by_logsource"] == [
        {"logsource": {"product": "windows", "service": "security"}, "pipeline": "azure_monitor"}
    ]
    assert {
        "id": "arm",
        "label": "Microsoft Sentinel analytics rules (ARM template)",
        "targets": ["sentinel", "kusto", "sentinel_securityevent", "sentinel_asim"],
        "extension": "json",
    } in answer["bulk_formats"]


def post(client, body, content_type="application/json"):
    data = json.dumps(body) if content_type == "application/json" and not isinstance(body, str | bytes) else body
    return client.post("/api/convert/", data, content_type=content_type)


CERTUTIL_TEXT = (Path("rules") / CERTUTIL).read_text()


def test_api_convert_a_posted_rule(client, db):
    answer = post(client, {"yaml": CERTUTIL_TEXT, "target": "esql"})
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["query"] == pysigma_query(CERTUTIL_TEXT, "esql", "sysmon,ecs_windows") and data["errors"] == []
    assert data["unconstrained"] is False
    assert data["warnings"] == []
    assert Rule.objects.filter(uuid=CERTUTIL_ID).count() == 1  # nothing saved (the examples' own copy only)


def test_api_convert_rejects_bad_input_clearly(client, db, settings):
    settings.CATALOG_MAX_FILE_BYTES = 2000
    cases = [
        (post(client, {"yaml": CERTUTIL_TEXT}, "application/x-www-form-urlencoded"), 415, "application/json"),
        (post(client, CERTUTIL_TEXT, "text/plain"), 415, "application/json"),
        (post(client, '{"yaml": '), 400, "Not JSON: line 1"),
        (post(client, ["a list"]), 400, "Send a JSON object"),
        (post(client, {"rule": "x"}), 400, '"yaml"'),
        (post(client, {"yaml": "title: x\n\x00"}), 400, "NUL character in the rule (line 2)"),
        (post(client, '{"yaml": "title: \\ud800"}'), 400, "lone surrogate"),
        (post(client, {"yaml": "a" * 2001}), 413, "over the 2000-byte limit"),
        (post(client, "x" * 10000), 413, "Request body over"),
        (post(client, {"yaml": "title: x\ndetection: [\n"}), 400, "line 3: invalid YAML"),
        (post(client, {"yaml": "title: x\nlogsource: {}\ndetection: {condition: nothing}"}), 400, "cannot be read"),
        (post(client, {"yaml": CERTUTIL_TEXT, "target": "nope"}), 400, "Unknown target 'nope'"),
        (post(client, {"yaml": CERTUTIL_TEXT, "target": 3}), 400, '"target" must be a string'),
        (post(client, b"\xff\xfe"), 400, "not UTF-8"),
    ]
    for response, status, message in cases:
        assert response.status_code == status, (response.status_code, response.content)
        assert message in response.json()["error"], response.json()


def test_api_convert_is_rate_limited(client, db, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/minute", "convert": "2/minute"},
    }
    statuses = [post(client, {"yaml": CERTUTIL_TEXT}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_api_convert_needs_csrf_for_a_session(db):
    User.objects.create_user("analyst", password="pw")
    browser = Client(enforce_csrf_checks=True)
    browser.login(username="analyst", password="pw")
    refused = browser.post("/api/convert/", json.dumps({"yaml": CERTUTIL_TEXT}), content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]


# -- the rule page's Query section ---------------------------------------------------------------------
def query_section(html: str) -> str:
    start = html.index('<section id="query"')
    return html[start : html.index("</section>", start)]


def shown_query(html: str, box_id: str = "query-text") -> str:
    """The text of a query box as the browser holds it (what Copy copies): its line spans' texts joined."""
    match = re.search(rf'<pre class="query-text" id="{box_id}"[^>]*><code>(.*?)</code></pre>', html, re.S)
    assert match, box_id
    return unescape(re.sub(r"</?span[^>]*>", "", match.group(1)))


def test_rule_page_shows_the_query_for_the_target_in_the_url(client, example_rules):
    default = query_section(client.get(f"/rules/{CERTUTIL_ID}/").content.decode())
    splunk = stored.rule_query(example_rule(CERTUTIL_ID), choose("splunk")).query
    assert 'aria-current="true" data-target="splunk"' in default
    assert shown_query(default) == splunk  # laid out on lines for reading, but byte for byte pySigma's
    assert 'data-copy-from="query-text" hidden>Copy</button>' in default
    kusto = query_section(client.get(f"/rules/{CERTUTIL_ID}/?target=kusto&pipeline=sentinel_asim").content.decode())
    assert 'aria-current="true" data-target="kusto"' in kusto and '<option value="sentinel_asim" selected>' in kusto
    assert 'href="?target=lucene#query"' in kusto  # switching target keeps nothing stale (default pipeline)


def test_rule_page_shows_pysigmas_error_never_a_500(client, example_rules):
    response = client.get(f"/rules/{TEMPORAL_CORRELATION_ID}/?target=lucene")
    assert response.status_code == 200
    section = query_section(response.content.decode())
    assert (
        "cannot be converted for Elastic Lucene" in section and "Backend does not support correlation rules." in section
    )
    bad = client.get(f"/rules/{CERTUTIL_ID}/?target=bogus&pipeline=x")
    assert bad.status_code == 200 and "Unknown target &#x27;bogus&#x27;" in query_section(bad.content.decode())


def test_a_warm_rule_page_reads_its_query_once(client, example_rules):
    client.get(f"/rules/{CERTUTIL_ID}/?target=eql")
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/rules/{CERTUTIL_ID}/?target=eql")
    assert len(conversion_cache_queries(queries)) == 1


# -- /preview/ -----------------------------------------------------------------------------------------
def test_preview_renders_a_pasted_rule_like_a_rule_page_and_saves_nothing(client, example_rules):
    rules, indicators = Rule.objects.count(), Indicator.objects.count()
    text = CERTUTIL_TEXT.replace("fb6ebed3-a7c3-43fe-bd17-93997d27921a", "6f0c4b1e-8d1a-4c3e-9f50-1a2b3c4d5e6f")
    text = text.replace("title: Certutil Fetching Remote Content", "title: My Draft Rule")
    response = client.post("/preview/", {"yaml": text})
    assert response.status_code == 200
    html = response.content.decode()
    assert "My Draft Rule" in html and "preview — not in the catalog" in html
    assert "Stage 0: condition" in html and "MITRE ATT&amp;CK coverage" in html and "Event coverage" in html
    # An indicator the catalog already has (certutil's own), linked to its page, counted as the rule page will
    # count it once the draft is imported: the catalog's rules and the draft.
    shared = Indicator.objects.filter(rule_indicators__rule__uuid=CERTUTIL_ID).order_by("-corpus_count").first()
    assert f'href="/indicators/{shared.pk}/"' in html
    assert f'<span class="count" title="rules looking for this indicator">{shared.corpus_count + 1}</span>' in html
    queries = html[html.index('<section id="query"') :]
    for target in DEFAULT_TARGETS:
        assert registry().targets[target].label in queries
    assert 'data-copy-from="query-text-1"' in queries
    assert (Rule.objects.count(), Indicator.objects.count()) == (rules, indicators)


def test_preview_reports_problems_with_their_line(client, db):
    response = client.post("/preview/", {"yaml": "title: x\nlogsource:\n  product: windows\ndetection:\n  sel: [\n"})
    html = response.content.decode()
    assert response.status_code == 400 and "line 6:</span> invalid YAML: did not find expected node content" in html
    empty = client.post("/preview/", {"yaml": "   "})
    assert empty.status_code == 400


def test_preview_needs_csrf_and_is_rate_limited(db, settings):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post("/preview/", {"yaml": CERTUTIL_TEXT}).status_code == 403
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/minute", "convert": "1/minute"},
    }
    anonymous = Client()
    assert anonymous.post("/preview/", {"yaml": CERTUTIL_TEXT}).status_code == 200
    refused = anonymous.post("/preview/", {"yaml": CERTUTIL_TEXT})
    assert refused.status_code == 429 and "Too many previews" in refused.content.decode()


def test_preview_refuses_an_oversized_body_before_reading_it(client, db, settings):
    settings.CATALOG_MAX_FILE_BYTES = 1000
    response = client.post("/preview/", {"yaml": "a" * 8000})
    assert response.status_code == 413 and "the rule may have at most 1000" in response.content.decode()


def test_preview_names_an_empty_value_instead_of_an_empty_link(client, db):
    text = (
        "title: Empty value\nid: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\nlogsource:\n  category: process_creation\n"
        "  product: windows\ndetection:\n  sel:\n    CommandLine: ''\n  condition: sel\n"
    )
    html = client.post("/preview/", {"yaml": text}).content.decode()
    assert '<em class="empty-value">empty string</em>' in html
    assert "<code></code></a>" not in html and "<code></code></span>" not in html
