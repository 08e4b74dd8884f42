"""Bulk exports for SIEMs (catalog.exports.exporting/formats, /rules/export/…, manage.py convert_rules).

Each file is read back by a parser of its format, not by string matching: Splunk's .conf rules
(stanzas, `key = value`, backslash continuation, # comments), Elastic's detection-rule fields and
their allowed values, the ARM template structure and Sentinel's scheduled-rule properties.
"""

import json
import re
import time
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.conversion import stored
from catalog.conversion.converter import choose
from catalog.conversion.formats import SENTINEL_TACTICS
from catalog.conversion.targets import registry
from catalog.exports.built_exports import build_export
from catalog.models import Rule
from catalog.publishing.visibility import set_visibility
from tests.constants import CERTUTIL_ID, FILTER_RULE_ID, SSH_ID, TEMPORAL_CORRELATION_ID
from tests.conversion.corpus_conversion import check_whole_corpus

ELASTIC_SEVERITIES = {"low", "medium", "high", "critical"}
ELASTIC_TYPES = {"query": "lucene", "eql": "eql", "esql": "esql"}
SENTINEL_SEVERITIES = {"Informational", "Low", "Medium", "High"}
ISO_DURATION = re.compile(r"^P(T\d+[HMS])+$|^P\d+D$")
TECHNIQUE = re.compile(r"^T\d{4}$")
SUBTECHNIQUE = re.compile(r"^T\d{4}\.\d{3}$")


@pytest.fixture(autouse=True)
def export_storage(settings, tmp_path):
    """Each test's built exports in its own folder (catalog versions repeat across rolled-back tests)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }


# -- parsers of each format ----------------------------------------------------------------------------
def parse_conf(text: str) -> dict[str, dict[str, str]]:
    """A .conf file as Splunk reads it: [stanza] headers, `key = value`, a trailing backslash continues."""
    stanzas: dict[str, dict[str, str]] = {}
    current = None
    lines = iter(text.splitlines())
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        header = re.fullmatch(r"\[(.+)\]", line)
        if header:
            assert header.group(1) not in stanzas, f"duplicate stanza {header.group(1)!r} (Splunk would merge them)"
            current = stanzas[header.group(1)] = {}
            continue
        key, equals, value = line.partition(" = ")
        assert equals and current is not None and re.fullmatch(r"[\w.]+", key), f"not a conf line: {line!r}"
        while value.endswith("\\"):
            value = value[:-1] + "\n" + next(lines)
        assert key not in current, f"{key} twice in one stanza"
        current[key] = value
    return stanzas


def check_elastic_rule(rule: dict) -> None:
    """The fields Kibana's detection-rule import requires, with their allowed values."""
    assert str(uuid.UUID(rule["rule_id"])) == rule["rule_id"]
    assert rule["name"].strip() and rule["description"].strip()
    assert isinstance(rule["risk_score"], int) and 0 <= rule["risk_score"] <= 100
    assert rule["severity"] in ELASTIC_SEVERITIES
    assert ELASTIC_TYPES[rule["type"]] == rule["language"] and rule["query"].strip()
    assert ("index" in rule) == (rule["type"] != "esql")
    assert rule["enabled"] is False and re.fullmatch(r"\d+m", rule["interval"]) and rule["from"].startswith("now-")
    assert all(isinstance(rule[key], list) for key in ("author", "references", "false_positives", "tags", "threat"))
    assert rule["meta"]["sigma_id"] == rule["rule_id"] and rule["meta"]["catalog_url"].endswith(
        f"/rules/{rule['rule_id']}/"
    )
    for threat in rule["threat"]:
        assert threat["framework"] == "MITRE ATT&CK"
        assert re.fullmatch(r"TA\d{4}", threat["tactic"]["id"]) and threat["tactic"]["name"]
        assert threat["tactic"]["reference"].startswith("https://attack.mitre.org/tactics/")
        for technique in threat["technique"]:
            assert TECHNIQUE.fullmatch(technique["id"]) and technique["reference"].startswith(
                "https://attack.mitre.org/"
            )
            assert all(
                SUBTECHNIQUE.fullmatch(sub["id"]) and sub["id"].startswith(technique["id"])
                for sub in technique["subtechnique"]
            )


def parse_ndjson(text: str) -> tuple[list[dict], dict]:
    lines = [json.loads(line) for line in text.splitlines()]
    *rules, summary = lines
    for rule in rules:
        check_elastic_rule(rule)
    assert summary["exported_count"] == summary["exported_rules_count"] == len(rules)
    assert summary["missing_rules_count"] == len(summary["missing_rules"]) == len(summary["sigma_conversion_failures"])
    return rules, summary


def parse_arm(text: str) -> tuple[list[dict], dict]:
    """An ARM deployment template of Sentinel scheduled analytics rules."""
    template = json.loads(text)
    assert template["$schema"].startswith("https://schema.management.azure.com/schemas/")
    assert template["contentVersion"] == "1.0.0.0" and template["parameters"]["workspace"]["type"] == "String"
    names = set()
    for resource in template["resources"]:
        assert resource["type"] == "Microsoft.OperationalInsights/workspaces/providers/alertRules"
        assert resource["kind"] == "Scheduled" and re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", resource["apiVersion"])
        rule_id = re.search(r"Microsoft\.SecurityInsights/([0-9a-f-]{36})'\)\]$", resource["name"]).group(1)
        assert rule_id not in names and rule_id in resource["id"]
        names.add(rule_id)
        props = resource["properties"]
        assert 0 < len(props["displayName"]) <= 256 and len(props["description"]) <= 5000
        assert props["severity"] in SENTINEL_SEVERITIES and props["enabled"] is False
        assert props["query"].strip() and len(props["query"]) <= 10_000
        assert ISO_DURATION.fullmatch(props["queryFrequency"]) and ISO_DURATION.fullmatch(props["queryPeriod"])
        assert props["triggerOperator"] in {"GreaterThan", "LessThan", "Equal", "NotEqual"}
        assert isinstance(props["triggerThreshold"], int)
        assert set(props["tactics"]) <= set(SENTINEL_TACTICS.values())
        assert all(TECHNIQUE.fullmatch(t) for t in props["techniques"])
    report = template["metadata"]["sigmaCatalog"]
    assert report["exported"] == len(template["resources"])
    return template["resources"], report


# -- the command ---------------------------------------------------------------------------------------
def run(tmp_path, capsys, **options):
    out = tmp_path / "export.out"
    call_command("convert_rules", output=str(out), base_url="https://catalog.example.org", **options)
    return out.read_text(encoding="utf-8"), capsys.readouterr().err


def test_splunk_savedsearches_conf(example_rules, tmp_path, capsys):
    text, report = run(tmp_path, capsys, target="splunk")
    stanzas = parse_conf(text)
    live = example_rules.live()
    assert len(stanzas) + len(re.findall(r"^# not exported: ", text, re.M)) == live.count()
    certutil = Rule.objects.get(uuid=CERTUTIL_ID)
    stanza = stanzas[certutil.title]
    assert stanza["search"].startswith('Image="*\\\\certutil.exe"') or "certutil" in stanza["search"].lower()
    assert f"Sigma rule {CERTUTIL_ID}" in stanza["description"]
    assert f"https://catalog.example.org/rules/{CERTUTIL_ID}/" in stanza["description"]
    assert (
        stanza["alert.severity"]
        == {"informational": "2", "low": "3", "medium": "4", "high": "5", "critical": "6"}[certutil.effective_level]
    )
    assert json.loads(stanza["action.correlationsearch.annotations"]) == {
        "mitre_attack": sorted(t.technique_id for t in certutil.techniques.all())
    }
    assert stanza["enableSched"] == "0" and stanza["action.correlationsearch.label"] == certutil.title
    # The correlation's query spans lines: continued with backslashes and read back whole.
    correlation = stanzas[Rule.objects.get(uuid=TEMPORAL_CORRELATION_ID).title]["search"]
    expected = stored.rule_query(Rule.objects.get(uuid=TEMPORAL_CORRELATION_ID), choose("splunk")).query
    assert (
        correlation == expected
        and correlation.startswith("| multisearch")
        and "\n| search event_type_count" in expected
    )
    # Failures are named on standard error and in the file: the filter cannot be converted alone.
    filter_title = Rule.objects.get(uuid=FILTER_RULE_ID).title
    assert f"{FILTER_RULE_ID} {filter_title}: A filter is not converted on its own" in report
    assert f"# not exported: {FILTER_RULE_ID} {filter_title}:" in text
    assert re.search(
        r"^\d+ rules written to .* \(Splunk savedsearches\.conf; splunk, pipeline sysmon,splunk_windows; ", report
    )


def test_curation_applies_hidden_never_level_override_used(example_rules, tmp_path, capsys):
    set_visibility(Rule.objects.filter(uuid=SSH_ID), hidden=True)
    Rule.objects.filter(uuid=CERTUTIL_ID).update(level_override="critical")
    ndjson, _ = run(tmp_path, capsys, target="lucene")
    rules, _ = parse_ndjson(ndjson)
    by_id = {rule["rule_id"]: rule for rule in rules}
    assert SSH_ID not in by_id and SSH_ID not in ndjson
    assert (by_id[CERTUTIL_ID]["severity"], by_id[CERTUTIL_ID]["risk_score"]) == ("critical", 99)
    conf, _ = run(tmp_path, capsys, target="splunk")
    assert parse_conf(conf)[Rule.objects.get(uuid=CERTUTIL_ID).title]["alert.severity"] == "6"
    arm, _ = run(tmp_path, capsys, target="kusto", pipeline="none")
    resources, _ = parse_arm(arm)
    certutil = next(r for r in resources if CERTUTIL_ID in r["name"])
    assert certutil["properties"]["severity"] == "High"  # Sentinel has no "critical"
    assert SSH_ID not in arm


@pytest.mark.parametrize("target", ["lucene", "eql", "esql"])
def test_elastic_ndjson(example_rules, tmp_path, capsys, target):
    text, report = run(tmp_path, capsys, target=target)
    rules, summary = parse_ndjson(text)
    assert {rule["type"] for rule in rules} == {next(t for t, lang in ELASTIC_TYPES.items() if lang == target)}
    certutil = next(rule for rule in rules if rule["rule_id"] == CERTUTIL_ID)
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    assert certutil["name"] == rule.title and certutil["description"] == rule.description
    techniques = {t["id"] for threat in certutil["threat"] for t in threat["technique"]}
    subs = {s["id"] for threat in certutil["threat"] for t in threat["technique"] for s in t["subtechnique"]}
    assert techniques | subs >= {t.technique_id for t in rule.techniques.all()}
    assert FILTER_RULE_ID in {item["rule_id"] for item in summary["missing_rules"]}
    assert f"{len(rules)} rules written" in report


def test_sentinel_arm(example_rules, tmp_path, capsys):
    text, report = run(tmp_path, capsys, target="kusto", pipeline="none")
    resources, meta = parse_arm(text)
    certutil = next(r for r in resources if CERTUTIL_ID in r["name"])["properties"]
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    assert certutil["displayName"] == rule.title and f"/rules/{CERTUTIL_ID}/" in certutil["description"]
    assert certutil["techniques"] == sorted({t.technique_id.split(".")[0] for t in rule.techniques.all()})
    assert certutil["tactics"] == sorted({SENTINEL_TACTICS[t.shortname] for t in rule.tactics.all()})
    assert {f["id"] for f in meta["notExported"]} >= {FILTER_RULE_ID}


INJECTION_HOST_ID = "300f1c4c-d68b-4eba-a123-2cf30ca0e4fa"  # Security 4688: no Defender XDR field for it


@pytest.mark.parametrize(
    ("target", "tables", "security_table"),
    [
        ("sentinel", r"Device\w+Events|SecurityEvent", "SecurityEvent"),  # the default: per log source
        ("kusto", r"Device\w+Events", None),
        ("sentinel_securityevent", r"SecurityEvent", "SecurityEvent"),
        ("sentinel_asim", r"im[A-Z]\w+", None),
    ],
)
def test_sentinel_arm_per_data_source(example_rules, tmp_path, capsys, target, tables, security_table):
    """Each Sentinel choice reads the tables its label names, and the file says which choice it is."""
    text, _ = run(tmp_path, capsys, target=target)
    resources, meta = parse_arm(text)
    queries = {re.search(r"([0-9a-f-]{36})'\)\]$", r["name"]).group(1): r["properties"]["query"] for r in resources}
    assert queries and all(re.fullmatch(tables, query.split("\n")[0]) for query in queries.values()), target
    assert (queries[INJECTION_HOST_ID].split("\n")[0] if INJECTION_HOST_ID in queries else None) == security_table
    assert meta["queriesFor"] == registry().targets[target].label


def test_filters_of_the_rule_list_and_bad_choices(example_rules, tmp_path, capsys):
    text, _ = run(tmp_path, capsys, target="splunk", level=["high", "critical"])
    exported = {
        re.search(r"Sigma rule ([0-9a-f-]{36})", st["description"]).group(1) for st in parse_conf(text).values()
    }
    failed = set(re.findall(r"^# not exported: ([0-9a-f-]{36}) ", text, re.M))
    expected = {str(u) for u in example_rules.live().with_level(["high", "critical"]).values_list("uuid", flat=True)}
    assert exported | failed == expected and not exported & failed and len(exported) > len(failed)
    with pytest.raises(CommandError, match="Invalid filter: level"):
        run(tmp_path, capsys, target="splunk", level=["urgent"])
    with pytest.raises(CommandError, match="The arm format takes the targets sentinel, kusto, .*, not 'splunk'"):
        run(tmp_path, capsys, target="splunk", format="arm")
    with pytest.raises(CommandError, match="Unknown target"):
        run(tmp_path, capsys, target="qradar")
    with pytest.raises(CommandError, match="rules could not be converted"):
        run(tmp_path, capsys, target="splunk", strict=True)


# -- over HTTP -----------------------------------------------------------------------------------------
def download(client, url):
    response = client.get(url)
    assert response.status_code == 200 and response.streaming, (url, response.status_code)
    return response, b"".join(response.streaming_content).decode("utf-8")


def test_http_exports_parse_and_take_the_rule_list_filters(client, example_rules):
    response, conf = download(client, "/rules/export/splunk.conf?level=high")
    assert response["Content-Disposition"] == 'attachment; filename="sigma-savedsearches-splunk.conf"'
    for stanza in parse_conf(conf).values():
        assert stanza["alert.severity"] == "5"
        assert "http://testserver/rules/" in stanza["description"]
    response, ndjson = download(client, "/rules/export/elastic.ndjson?target=esql&tag=attack.t1105")
    assert response["Content-Type"] == "application/x-ndjson"
    rules, _ = parse_ndjson(ndjson)
    assert rules and all(rule["type"] == "esql" for rule in rules)
    assert {r["rule_id"] for r in rules} <= {
        str(u) for u in example_rules.with_tag("attack.t1105").values_list("uuid", flat=True)
    }
    # The whole catalog is served as built in the background (see test_export_hardening for the 202).
    build_export("sentinel", "none", "http://testserver/rules/")
    response, arm = download(client, "/rules/export/sentinel.json?pipeline=none")
    resources, _ = parse_arm(arm)
    assert resources
    assert response["Content-Disposition"] == 'attachment; filename="sigma-sentinel-analytics-rules-sentinel.json"'


def test_the_rule_list_links_each_sentinel_choice(client, example_rules):
    html = client.get("/rules/?level=high").content.decode()
    for target, tables in [("sentinel_securityevent", "SecurityEvent"), ("sentinel_asim", "ASIM"), ("kusto", "")]:
        link = f'href="/rules/export/sentinel.json?level=high&amp;target={target}" download>'
        assert link in html and (not tables or f"{link}{tables}</a>" in html), target
    default = 'href="/rules/export/sentinel.json?level=high" download>Defender XDR tables, else SecurityEvent</a>'
    assert default in html
    _, arm = download(client, "/rules/export/sentinel.json?level=high&target=sentinel_asim")
    resources, meta = parse_arm(arm)
    assert meta["queriesFor"] == "Microsoft Sentinel KQL (ASIM)"
    assert all(r["properties"]["query"].startswith("im") for r in resources)


def test_http_export_errors(client, example_rules):
    assert client.get("/rules/export/qradar.xml").status_code == 404
    bad_filter = client.get("/rules/export/splunk.conf?level=urgent")
    assert bad_filter.status_code == 400 and "level" in bad_filter.json()["errors"]
    wrong_target = client.get("/rules/export/elastic.ndjson?target=kusto")
    assert wrong_target.status_code == 400 and "takes the targets lucene, eql, esql" in wrong_target.json()["error"]
    bad_pipeline = client.get("/rules/export/splunk.conf?pipeline=/etc/passwd")
    assert bad_pipeline.status_code == 400 and "not available for splunk" in bad_pipeline.json()["error"]


def test_the_first_bytes_leave_before_any_rule_is_read(client, example_rules):
    # A filtered export converts in the request (the whole catalog's is built in the background).
    response = client.get("/rules/export/splunk.conf?status=test&status=experimental&status=stable")
    chunks = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = next(chunks)
    assert first.startswith(b"# Sigma rules from the Sigma rule catalog") and len(queries) == 0
    with CaptureQueriesContext(connection) as queries:
        rest = b"".join(chunks)
    assert b"search = " in rest and len(queries) > 0


@pytest.mark.long
@pytest.mark.one_database  # whole-corpus Python over rules read as the example-rule export tests read them, on both
def test_full_corpus_converts_then_its_export_streams_and_parses(client, corpus):
    check_whole_corpus(corpus, "lucene")  # converts every rule once, into the conversion cache the build reads
    started = time.perf_counter()
    built = build_export("lucene", "", "http://testserver/rules/")
    print(f"\nfull corpus NDJSON built in {time.perf_counter() - started:.1f} s ({built.size} bytes)")
    started = time.perf_counter()
    response = client.get("/rules/export/elastic.ndjson")
    assert response.status_code == 200 and int(response["Content-Length"]) == built.size
    chunks = iter(response.streaming_content)
    first = next(chunks)
    first_byte = time.perf_counter() - started
    text = (first + b"".join(chunks)).decode("utf-8")
    total = time.perf_counter() - started
    rules, summary = parse_ndjson(text)
    print(
        f"\nfull corpus NDJSON: first byte {first_byte * 1000:.0f} ms, {len(rules)} rules in {total:.1f} s, "
        f"{summary['missing_rules_count']} not converted"
    )
    assert len(rules) + summary["missing_rules_count"] == corpus.live().count()
    assert len(rules) >= 3700
