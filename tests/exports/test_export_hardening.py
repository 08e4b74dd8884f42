"""Regression tests for the export hardening: each repro of the issue, read back by a strict parser.

- whole-catalog SIEM exports are never converted in a web request: built in the background, stored
  per (target, canonical pipelines, catalog version), served with Content-Length and ETag;
- pipeline spellings are canonical; builds are claimed once per key and capped per client; filtered
  exports are bounded; exports are throttled;
- savedsearches.conf (and the text format) cannot be given stanzas or continuations by a rule;
- ARM template strings taken from rules are never template expressions; NDJSON lines are whole objects;
- /attack/navigator.json?q= works on SQLite; a stream that fails midway ends visibly broken.
"""

import csv
import io
import json
import re

import pytest
import yaml
from django.core.files.storage import storages
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from catalog.conversion import stored
from catalog.conversion.converter import choose
from catalog.exports import export_queue
from catalog.exports import files as coverage_exports
from catalog.exports.built_exports import build_export, current_version, find_export
from catalog.exports.exporting import canonical_choice
from catalog.importing.importer import import_paths
from catalog.models import Rule
from catalog.publishing.versioning import bump_version
from tests.constants import CERTUTIL_ID
from tests.task_worker import run_queued_tasks, task_result

LEVEL_INJECTION = "0b9e1b52-8a40-4c55-9a1e-3c1c8a2d0001"
DEFAULT_TITLE = "0b9e1b52-8a40-4c55-9a1e-3c1c8a2d0002"
LINE_BREAK_TITLE = "0b9e1b52-8a40-4c55-9a1e-3c1c8a2d0003"
ARM_TITLE = "0b9e1b52-8a40-4c55-9a1e-3c1c8a2d0004"
LINE_BREAK_QUERY = "0b9e1b52-8a40-4c55-9a1e-3c1c8a2d0005"
BACKSLASH_TITLE = "0b9e1b52-8a40-4c55-9a1e-3c1c8a2d0006"
ARM_EXPRESSION = "[concat('ARM','-expression-', parameters('workspace'))]"
# What str.splitlines() takes for line breaks besides "\n" (and Splunk might): never raw in a .conf file.
LINE_BREAKS = re.compile(r"[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
RESERVED_STANZAS = {"default", "general"}


@pytest.fixture(autouse=True)
def export_storage(settings, tmp_path):
    """Each test's built exports in its own folder (catalog versions repeat across rolled-back tests)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "exports"},
        },
    }


@pytest.fixture
def starts(monkeypatch):
    """The build task's enqueue replaced by a record of what would have been queued."""
    started = []
    monkeypatch.setattr(export_queue, "start_build", lambda choice, url: started.append((choice, url)) or 4242)
    return started


def rule(uuid, title, *, level="medium", description="A test rule.", value="evil.exe"):
    return {
        "title": title,
        "id": uuid,
        "status": "test",
        "description": description,
        "author": "tests",
        "date": "2024-01-01",
        "tags": ["attack.execution", "attack.t1059"],
        "logsource": {"category": "process_creation", "product": "windows"},
        "detection": {"selection": {"CommandLine|contains": value}, "condition": "selection"},
        "level": level,
    }


ADVERSARIAL = [
    rule(LEVEL_INJECTION, "Level Injection", level="high\n[evil10]\nsearch = | delete"),
    rule(DEFAULT_TITLE, "default"),
    rule(LINE_BREAK_TITLE, "Line\u2028[evil11]\u2029breaks\x0b\x0c\x1c\x1d\x1e\x85\rin a title", description="\r\n[e]"),
    rule(ARM_TITLE, ARM_EXPRESSION, description="[parameters('workspace')]"),
    rule(LINE_BREAK_QUERY, "Line Break In A Query Literal", value="a\u2028[evil12]\u2029b"),
    rule(BACKSLASH_TITLE, "Ends With A Backslash \\", description="continued \\"),
]


@pytest.fixture
def adversarial(db, tmp_path):
    folder = tmp_path / "adversarial"
    folder.mkdir()
    for number, data in enumerate(ADVERSARIAL):
        (folder / f"rule_{number}.yml").write_text(yaml.safe_dump(data, allow_unicode=False), encoding="utf-8")
    report = import_paths([str(folder)], source="adversarial")
    assert not report.errors, [str(p) for p in report.errors]
    assert Rule.objects.get(uuid=LEVEL_INJECTION).level.startswith("high\n[evil10]")
    return Rule.objects.filter(source__name="adversarial")


# -- strict readers ---------------------------------------------------------------------------------------
def strict_conf(text: str) -> dict[str, dict[str, str]]:
    """A .conf file read by Splunk's rules, strictly: lines end at "\\n" only; a line is blank, a `#` comment,
    a `[stanza]` header or `key = value`; a value ending in a backslash continues on the next line (the line
    break kept). Anything else fails: a key outside a stanza (it would apply to every search), a reserved or
    repeated stanza name, a repeated key, a raw line-break character other than "\\n"."""
    assert not LINE_BREAKS.search(text), f"raw line break {LINE_BREAKS.search(text).group()!r} in the file"
    stanzas: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    current = None
    lines = iter(text.split("\n"))
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([^\[\]]+)\]", line)
        if header:
            name = header.group(1)
            assert name.strip() == name and name.lower() not in RESERVED_STANZAS, f"reserved stanza [{name}]"
            assert name.lower() not in seen, f"duplicate stanza [{name}] (Splunk would merge them)"
            seen.add(name.lower())
            current = stanzas[name] = {}
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.]+) = (.*)", line)
        assert match and current is not None, f"not a .conf line: {line!r}"
        key, value = match.groups()
        while value.endswith("\\"):
            value = value[:-1] + "\n" + next(lines)
        assert key not in current, f"{key} twice in [{name}]"
        current[key] = value
    return stanzas


def strict_json(text: str):
    """JSON as the RFC says: no NaN/Infinity, no repeated keys."""

    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"repeated key in {keys}"
        return dict(pairs)

    def no_constant(name):
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def is_expression(text: str) -> bool:
    """Whether ARM evaluates the string (starts with one `[`, ends with `]`)."""
    return text.startswith("[") and not text.startswith("[[") and text.endswith("]")


def command_export(tmp_path, capsys, **options) -> str:
    out = tmp_path / "export.out"
    call_command("convert_rules", output=str(out), base_url="https://catalog.example.org", **options)
    capsys.readouterr()
    return out.read_text(encoding="utf-8")


def body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


# -- item 5: savedsearches.conf and the text format -------------------------------------------------------
def test_splunk_conf_cannot_be_given_stanzas_or_continuations(adversarial, client, tmp_path, capsys):
    built = build_export("splunk", "", "http://testserver/rules/")
    whole = storages["exports"].open(built.name).read().decode("utf-8")
    texts = {
        "convert_rules": command_export(tmp_path, capsys, target="splunk", source="adversarial"),
        "filtered": body(client.get("/rules/export/splunk.conf?source=adversarial")),
        "whole": whole,
    }
    for where, text in texts.items():
        stanzas = strict_conf(text)
        assert not any(name.startswith("evil") for name in stanzas), where
        sigma_id = re.compile(r"Sigma rule ([0-9a-f-]{36})")
        by_id = {sigma_id.search(s["description"]).group(1): (n, s) for n, s in stanzas.items()}
        name, injected = by_id[LEVEL_INJECTION]
        assert name == "Level Injection" and injected["alert.severity"] == "3"  # an unknown level
        assert "level high [evil10] search = | delete:" in injected["description"], where
        assert by_id[DEFAULT_TITLE][0] == f"default ({DEFAULT_TITLE})", where
        assert re.fullmatch(r"Line \(evil11\) breaks ?in a title", by_id[LINE_BREAK_TITLE][0]), where
        assert by_id[BACKSLASH_TITLE][1]["action.correlationsearch.label"] == "Ends With A Backslash", where
        # The query literal keeps its U+2028: the rule is not exported, and the report says why.
        assert LINE_BREAK_QUERY not in by_id, where
        assert re.search(rf"^# not exported: {LINE_BREAK_QUERY} .*U\+2028", text, re.M), where


def test_text_format_lines_cannot_be_injected(adversarial, tmp_path, capsys):
    text = command_export(tmp_path, capsys, target="splunk", format="text", source="adversarial")
    headings = [line for line in text.split("\n") if line.startswith("# ") and "level" in line]
    assert not any(line.startswith("[") for line in text.split("\n"))
    assert any(f"({LEVEL_INJECTION}, level high [evil10] search = | delete)" in line for line in headings)
    assert not LINE_BREAKS.search("\n".join(headings))


def test_query_lines_split_only_at_newlines(example_rules, tmp_path, capsys):
    """The correlation's multi-line query is continued line by line and read back whole."""
    text = command_export(tmp_path, capsys, target="splunk")
    stanzas = strict_conf(text)
    queries = [s["search"] for s in stanzas.values() if "\n" in s["search"]]
    assert queries and all(q.startswith("| multisearch") or "\n" in q for q in queries)


# -- item 6: Sentinel ARM template and Elastic NDJSON ---------------------------------------------------
def test_arm_template_strings_are_literals(adversarial, client, tmp_path, capsys):
    build_export("sentinel", "none", "http://testserver/rules/")  # sentinel.json's own target
    texts = [
        command_export(tmp_path, capsys, target="kusto", pipeline="none"),
        body(client.get("/rules/export/sentinel.json?pipeline=none&source=adversarial")),
        body(client.get("/rules/export/sentinel.json?pipeline=none")),
    ]
    for text in texts:
        template = strict_json(text)
        for resource in template["resources"]:
            uuid = re.search(r"/([0-9a-f-]{36})'\)\]$", resource["name"]).group(1)
            assert resource["name"] == f"[concat(parameters('workspace'), '/Microsoft.SecurityInsights/{uuid}')]"
            assert resource["id"].startswith("[concat(resourceId(") and resource["id"].endswith(f"/{uuid}')]")
            assert not [s for s in strings(resource["properties"]) if is_expression(s)]
        assert not [s for s in strings(template["metadata"]) if is_expression(s)]
        arm = next(r for r in template["resources"] if ARM_TITLE in r["name"])["properties"]
        assert arm["displayName"] == "[" + ARM_EXPRESSION  # ARM deploys it as the title itself


def test_ndjson_lines_are_whole_json_objects(adversarial, client):
    build_export("lucene", "", "http://testserver/rules/")
    for url in ("/rules/export/elastic.ndjson?source=adversarial", "/rules/export/elastic.ndjson"):
        text = body(client.get(url))
        assert text.endswith("\n") and text.splitlines() == text[:-1].split("\n")
        objects = [strict_json(line) for line in text[:-1].split("\n")]
        assert all(isinstance(item, dict) for item in objects)
        by_id = {item.get("rule_id"): item for item in objects}
        assert by_id[LINE_BREAK_TITLE]["name"] == Rule.objects.get(uuid=LINE_BREAK_TITLE).title
        assert by_id[ARM_TITLE]["name"] == ARM_EXPRESSION


# -- item 1: whole-catalog exports built in the background ------------------------------------------------
def test_whole_catalog_export_is_built_once_in_the_background_then_served(example_rules, client, starts, monkeypatch):
    def no_conversion(*args, **kwargs):
        raise AssertionError("a web request converted a rule")

    convert_rule = stored.convert_rule
    monkeypatch.setattr(stored, "convert_rule", no_conversion)
    first = client.get("/rules/export/elastic.ndjson?pipeline=sysmon,ecs_windows")
    assert first.status_code == 202 and int(first["Retry-After"]) > 0 and first["Cache-Control"] == "no-store"
    assert first.json()["status"] == "building" and "being built" in first.json()["message"]
    second = client.get("/rules/export/elastic.ndjson?pipeline=sysmon,ecs_windows")
    assert second.status_code == 202
    assert len(starts) == 1 and starts[0][0].pipelines == ("sysmon", "ecs_windows")
    assert starts[0][1] == "http://testserver/rules/"
    monkeypatch.setattr(stored, "convert_rule", convert_rule)  # the build converts (outside any request)
    built = build_export("lucene", ("ecs_windows", "sysmon"), starts[0][1])
    export_queue.release(starts[0][0])
    served = client.get("/rules/export/elastic.ndjson?pipeline=sysmon,ecs_windows")
    assert served.status_code == 200 and int(served["Content-Length"]) == built.size
    text = body(served)
    assert len(text.encode("utf-8")) == built.size and strict_json(text.splitlines()[-1])["exported_count"] > 0
    assert served["ETag"] == built.etag and served["X-Export-Version"] == current_version()
    again = client.get("/rules/export/elastic.ndjson?pipeline=sysmon,ecs_windows", HTTP_IF_NONE_MATCH=built.etag)
    assert again.status_code == 304
    # A new catalog version is built anew; once it is, the old version's files are gone.
    bump_version()
    later = client.get("/rules/export/elastic.ndjson?pipeline=sysmon,ecs_windows")
    assert later.status_code == 202
    assert len(starts) == 2
    newer = build_export("lucene", "sysmon,ecs_windows", "http://testserver/rules/")
    folder = newer.name.rsplit("/", 1)[0]
    _, files = storages["exports"].listdir(folder)
    assert sorted(files) == sorted([f"{newer.version}.ndjson", f"{newer.version}.manifest.json"])
    assert find_export(choose("lucene", "ecs_windows,sysmon"), built.version) is None


def test_pipeline_spellings_share_one_key_and_redirect(example_rules, client, starts):
    one, other = choose("splunk", "splunk_windows,sysmon"), choose("splunk", "sysmon,splunk_windows")
    assert canonical_choice(one) == canonical_choice(other)
    certutil = Rule.objects.get(uuid=CERTUTIL_ID)
    assert stored.cache_key(certutil, [], canonical_choice(one)) == stored.cache_key(certutil, [], other)
    response = client.get("/rules/export/splunk.conf?pipeline=splunk_windows,sysmon&level=high")
    assert response.status_code == 302
    assert response["Location"] == "/rules/export/splunk.conf?pipeline=sysmon%2Csplunk_windows&level=high"
    assert client.get("/rules/export/splunk.conf?pipeline=sysmon,splunk_windows&level=high").status_code == 200
    assert client.get("/rules/export/splunk.conf?pipeline=splunk_windows,sysmon").status_code == 302
    assert not starts


def test_builds_are_capped_per_client(example_rules, client, starts, settings):
    settings.CATALOG_EXPORT_BUILDS_PER_CLIENT = 1
    assert client.get("/rules/export/splunk.conf").status_code == 202
    refused = client.get("/rules/export/splunk.conf?pipeline=sysmon")
    assert refused.status_code == 429 and refused.json()["status"] == "refused"
    assert "as many export builds as one client may this hour" in refused.json()["message"]
    other_client = client.get("/rules/export/splunk.conf?pipeline=sysmon", REMOTE_ADDR="10.0.0.2")
    assert other_client.status_code == 202 and len(starts) == 2


def test_filtered_exports_are_bounded(example_rules, client, settings):
    settings.CATALOG_EXPORT_MAX_FILTERED_RULES = 2
    high = example_rules.live().with_level(["high"]).count()
    response = client.get("/rules/export/splunk.conf?level=high")
    assert response.status_code == 400 and high > 2
    assert f"These filters select {high} rules; a filtered export converts at most 2." in response.json()["error"]
    assert response.json()["whole_catalog"] == "/rules/export/splunk.conf?target=splunk&pipeline=sysmon,splunk_windows"


def test_exports_are_throttled(example_rules, client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "export": "2/minute"},
    }
    for url in ("/rules/export/splunk.conf?level=high", "/rules/export.csv"):
        assert client.get(url).status_code == 200
    throttled = client.get("/attack/navigator.json")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert "Too many exports" in throttled.json()["error"]


# -- item 12 and streamed failures -----------------------------------------------------------------------
def test_navigator_layer_of_a_search(example_rules, client):
    response = client.get("/attack/navigator.json?q=certutil")
    layer = strict_json(body(response))
    certutil = Rule.objects.get(uuid=CERTUTIL_ID)
    expected = {t.technique_id for t in certutil.techniques.all()}
    assert expected and {t["techniqueID"] for t in layer["techniques"]} >= expected


def test_streams_that_fail_midway_end_visibly_broken(example_rules, client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(coverage_exports, "technique_counts", broken)
    with pytest.raises(json.JSONDecodeError):
        json.loads(body(client.get("/attack/navigator.json")))
    monkeypatch.setattr(coverage_exports, "effective_tags", broken)
    text = body(client.get("/rules/export.csv"))
    assert text.startswith("id,title,")
    with pytest.raises(csv.Error):
        list(csv.reader(io.StringIO(text), strict=True))
    monkeypatch.setattr("catalog.exports.exporting.ExportRecord.from_rule", broken)
    ndjson = body(client.get("/rules/export/elastic.ndjson?level=high"))
    with pytest.raises(json.JSONDecodeError):
        [json.loads(line) for line in ndjson.strip().split("\n")]
    with pytest.raises(AssertionError, match="not a .conf line"):
        strict_conf(body(client.get("/rules/export/splunk.conf?level=high")))
    with pytest.raises(json.JSONDecodeError):
        json.loads(body(client.get("/rules/export/sentinel.json?level=high")))
    failures = [r for r in caplog.records if r.name == "catalog.exports" and "failed midway" in r.getMessage()]
    assert len(failures) == 5 and "/rules/export/splunk.conf?level=high" in failures[3].getMessage()


def test_the_queued_build_task_builds_and_releases_the_claim(example_rules, client, capsys):
    assert client.get("/rules/export/sentinel.json").status_code == 202  # enqueues the real task
    choice = canonical_choice(choose("sentinel"))  # Defender XDR tables, SecurityEvent for the Security log
    assert export_queue.building(choice)
    (queued,) = DBTaskResult.objects.filter(status="READY")
    assert queued.task_path.endswith("build_export_task") and queued.args_kwargs["args"][0] == "sentinel"
    assert run_queued_tasks() == 1
    assert not export_queue.building(choice) and task_result(str(queued.id)).status == "SUCCESSFUL"
    assert re.match(
        r"sentinel/microsoft_xdr/[0-9-]+\.json: \d+ bytes, \d+ rules", task_result(str(queued.id)).return_value
    )
    served = client.get("/rules/export/sentinel.json")
    assert served.status_code == 200 and strict_json(body(served))["resources"]
    call_command("build_exports", target="kusto", rules_url="http://testserver/rules/")  # the operator's command
    assert re.search(r"kusto/microsoft_xdr/[0-9-]+\.json: \d+ bytes, \d+ rules", capsys.readouterr().out)
