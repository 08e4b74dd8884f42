"""Conversion safety: windash expansion is bounded before pySigma expands it, conversions made for a
request run under a time and memory budget, and no state of one conversion reaches another.

The repros of the hardening issue: an eight-dash `windash` rule (30 s and 360 MB in a web worker), a
pasted rule's failing field (`PASTED_SECRET_FIELD_9f3a`) appearing in another rule's kusto error and
in the permanent query cache, and error texts growing with every failure.
"""

import json
import time

import pytest
from django.core.cache import caches
from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaExpansion

from catalog.conversion import budget, converter, stored
from catalog.conversion.converter import choose, convert, new_backend
from catalog.conversion.sources import read_rules
from catalog.conversion.targets import DEFAULT_TARGETS, registry
from catalog.core.sigma import expansion
from catalog.core.sigma.evaluate import compile_rule, matches
from catalog.core.sigma.loading import Limits
from catalog.core.sigma.parsing import parse_file
from catalog.importing.importer import import_paths
from catalog.models import Rule
from tests.constants import CERTUTIL_ID

EIGHT_DASHES = "-p0 -p1 -p2 -p3 -p4 -p5 -p6 -p7"
SECRET = "PASTED_SECRET_FIELD_9f3a"
KUSTO_XDR = ("kusto", "sysmon,microsoft_xdr")


def rule_text(field: str = "CommandLine|windash|contains", value: str = EIGHT_DASHES, title: str = "Dashes") -> str:
    return (
        f"title: {title}\n"
        "logsource:\n  product: windows\n  category: process_creation\n"
        f"detection:\n  sel:\n    {field}: '{value}'\n  condition: sel\n"
    )


def post_convert(client, text: str, target: str = "splunk", pipeline: str | None = None):
    body = {"yaml": text, "target": target, **({"pipeline": pipeline} if pipeline else {})}
    return client.post("/api/convert/", json.dumps(body), content_type="application/json")


# -- windash: counted before pySigma expands ----------------------------------------------------------
@pytest.mark.parametrize(
    ("modifiers", "value"),
    [
        (["windash", "contains"], "-a /b -c"),
        (["windash"], "cmd.exe -x"),
        (["windash", "startswith"], "no dash here"),
        (["windash", "contains"], "*-a\\*-b?c -d"),  # wildcards and escapes read as pySigma reads them
        (["windash", "contains"], "a-b c--d -/e"),  # dashes inside words are not expanded
        (["windash", "base64offset", "contains"], "-enc -nop"),
        (["base64offset", "contains"], "IEX"),
        (["contains"], "-a -b -c"),
    ],
)
def test_the_count_is_exactly_what_pysigma_expands_to(modifiers, value):
    item = SigmaDetectionItem.from_mapping("|".join(["CommandLine", *modifiers]), value)
    expanded = sum(leaves(v) for v in item.value)
    assert expansion.item_variants(modifiers, value)[0] == expanded


def leaves(value) -> int:
    """Values of a pySigma value, its expansions (nested when modifiers stack) counted out."""
    return sum(leaves(v) for v in value.values) if isinstance(value, SigmaExpansion) else 1


def test_an_eight_dash_windash_rule_is_a_named_problem_not_an_expansion():
    """The issue's 150-byte rule: 5**8 values. Refused by the parser, naming the item and the limit."""
    rules, problems = parse_file(rule_text().encode(), "dashes.yml", Limits())
    assert rules == []
    assert [p.line for p in problems] == [7]  # the line of the item
    message = problems[0].message
    assert "'CommandLine|windash|contains' in 'sel' expands to 390,625 values" in message
    assert "8 dashes" in message and "limit of 4,096 per file" in message


def test_the_limit_counts_every_rule_of_a_file_and_follows_the_setting():
    four = rule_text(value="-a -b -c -d")  # 625 values
    text = "\n---\n".join(rule_text(value="-a -b -c -d", title=f"Rule {n}") for n in range(7))
    rules, problems = parse_file(text.encode(), "many.yml", Limits())
    assert len(rules) == 6 and len(problems) == 1  # 6 x 625 = 3,750; the 7th would make 4,375
    assert "3,750 before it in the file" in problems[0].message
    rules, problems = parse_file(four.encode(), "four.yml", Limits(max_variants=600))
    assert rules == [] and "over the limit of 600 per file" in problems[0].message
    assert parse_file(four.encode(), "four.yml", Limits())[0]  # within the default


def test_sigmahq_rules_stay_far_below_the_limit(corpus_dir):
    """The default leaves room: SigmaHQ's most expanding file makes 165 values."""
    from catalog.core.sigma.loading import load_file

    most = 0
    for path in corpus_dir.rglob("*.yml"):
        try:
            loaded = load_file(path.read_bytes(), Limits())
        except Exception:  # noqa: BLE001 (a broken file of the corpus is not this test's business)
            continue
        most = max(most, sum(expansion.rule_variants(d.data)[0] for d in loaded.documents if isinstance(d.data, dict)))
    assert 100 <= most <= expansion.DEFAULT_MAX_VARIANTS // 10


def test_api_convert_refuses_a_windash_bomb_by_name(client, db):
    response = post_convert(client, rule_text())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("The rule cannot be read: line 7: 'CommandLine|windash|contains' in 'sel' expands to")


def test_api_convert_refuses_json_nested_past_the_recursion_limit(client, db):
    response = client.post("/api/convert/", "[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "The JSON is nested too deeply."


def test_preview_refuses_a_windash_bomb_by_name(client, db):
    response = client.post("/preview/", {"yaml": rule_text()})
    assert response.status_code == 400
    assert "expands to 390,625 values" in response.content.decode()


def test_import_isolates_a_windash_bomb_with_its_reason(tmp_path, db):
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "bomb.yml").write_text(rule_text(), encoding="utf-8")
    (folder / "fine.yml").write_text(rule_text(value="-a -b", title="Fine"), encoding="utf-8")
    report = import_paths([str(folder)], source="safety")
    assert report.created == 1 and [e.path for e in report.errors] == ["repo/bomb.yml"]
    assert "expands to 390,625 values" in report.errors[0].message
    assert Rule.objects.filter(title="Fine").exists() and not Rule.objects.filter(title="Dashes").exists()


def test_the_importer_reads_the_limit_from_the_settings(tmp_path, db, settings):
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "fine.yml").write_text(rule_text(value="-a -b", title="Fine"), encoding="utf-8")  # 25 values
    settings.CATALOG_MAX_VALUE_VARIANTS = 20
    report = import_paths([str(folder)], source="safety")
    assert report.created == 0 and "over the limit of 20 per file" in report.errors[0].message


def test_the_matcher_does_not_expand_a_stored_windash_bomb():
    """A rule stored before the limit existed: its item is unknown (never a hang), with the reason."""
    predicates = [("sel", 0, "CommandLine", ["windash", "contains"], [EIGHT_DASHES])]
    compiled = compile_rule([{"ref": "sel"}], predicates)
    assert len(compiled.problems) == 1 and "expands to 390,625 values" in compiled.problems[0]
    assert "per rule" in compiled.problems[0]
    assert matches(compiled, {"CommandLine": EIGHT_DASHES}) is False  # unknown is not true
    small = compile_rule([{"ref": "sel"}], [("sel", 0, "CommandLine", ["windash", "contains"], ["-p0 -p1"])])
    assert small.problems == [] and matches(small, {"CommandLine": "x /p0 \u2013p1"}) is True


# -- isolation: nothing of one conversion reaches another ---------------------------------------------
def pasted(field: str, value: str = "x") -> list:
    return read_rules(rule_text(field=field, value=value, title=field), Limits()).rules


def test_converting_a_then_b_then_a_gives_a_the_same_answer():
    for target in DEFAULT_TARGETS:
        choice = choose(target)
        first = convert(pasted("Image|endswith"), choice).as_dict()
        convert(pasted(SECRET), choice)  # B: a field the pipeline may refuse
        convert(pasted("CommandLine|contains", "other"), choice)
        assert convert(pasted("Image|endswith"), choice).as_dict() == first, target


def test_a_failing_field_never_appears_in_another_rules_error():
    """The repro: kusto's InvalidFieldTransformation appended every failing field to one shared message."""
    choice = choose(*KUSTO_XDR)
    a_first = convert(pasted("NotAField"), choice)
    assert a_first.query is None and "NotAField" in a_first.errors[0]
    b = convert(pasted(SECRET), choice)
    assert SECRET in b.errors[0] and "NotAField" not in b.errors[0]
    for _ in range(20):
        convert(pasted(SECRET), choice)
    a_again = convert(pasted("NotAField"), choice)
    assert a_again.as_dict() == a_first.as_dict() and SECRET not in json.dumps(a_again.as_dict())


def test_a_pasted_field_never_reaches_a_stored_rules_query(client, example_rules):
    """POST /api/convert/ with the secret field, then another rule's query and page: no trace of it."""
    target, pipeline = KUSTO_XDR
    caches["conversions"].clear()
    pasted_answer = post_convert(client, rule_text(field=SECRET, value="x"), target, pipeline).json()
    assert SECRET in pasted_answer["errors"][0]
    other = Rule.objects.filter(source__name="examples").exclude(uuid=CERTUTIL_ID).order_by("pk")
    for rule in [Rule.objects.get(uuid=CERTUTIL_ID), *other[:5]]:
        url = f"/api/rules/{rule.uuid}/query/?target={target}&pipeline={pipeline}"
        assert SECRET not in client.get(url).content.decode()
        page = client.get(f"/rules/{rule.uuid}/?target={target}&pipeline={pipeline.replace(',', '%2C')}")
        assert page.status_code == 200 and SECRET not in page.content.decode()


def test_no_two_conversions_share_a_transformation():
    """Each conversion's backend is made for it: no pipeline item, transformation or condition object is
    shared with another conversion's (what pySigma mutates while converting lives on those)."""
    reg = registry()
    for target_id in DEFAULT_TARGETS:
        for pipeline in reg.targets[target_id].pipelines:
            choice = choose(target_id, pipeline)
            first, second = new_backend(choice), new_backend(choice)
            assert first.processing_pipeline is not second.processing_pipeline
            shared = pipeline_objects(first) & pipeline_objects(second)
            assert not shared, (target_id, pipeline, shared)


def pipeline_objects(backend) -> set[int]:
    found = set()
    pipelines = [backend.processing_pipeline, backend.backend_processing_pipeline]
    for pipeline in filter(None, pipelines):
        for item in [*pipeline.items, *pipeline.postprocessing_items, *pipeline.finalizers]:
            found |= {id(item), id(getattr(item, "transformation", None) or item)}
    found.discard(id(None))
    return found


def test_error_texts_do_not_grow_with_failures():
    choice = choose(*KUSTO_XDR)
    sizes = {len(convert(pasted(f"Missing{n % 2}"), choice).errors[0]) for n in range(30)}
    assert len(sizes) <= 2  # one length per field name, however many failures came before


def test_queries_cached_before_the_isolation_fix_are_never_served(example_rules, monkeypatch):
    """The cache key holds the isolation version: an entry written by the shared backends is not read."""
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    choice = choose(*KUSTO_XDR)
    key_now = stored.cache_key(rule, [], choice)
    monkeypatch.setattr(converter, "ISOLATION_VERSION", "1")
    assert stored.cache_key(rule, [], choice) != key_now
    monkeypatch.setattr(converter.Choice, "versions", property(lambda self: registry().versions(self.target, ())))
    assert stored.cache_key(rule, [], choice) != key_now  # nor the key of before (no isolation part)


# -- the request budget -----------------------------------------------------------------------------
def slow_convert(self, *args, **kwargs):
    while True:
        time.sleep(0.05)


def greedy_convert(self, *args, **kwargs):
    hoard = [bytearray(64 * 1024 * 1024) for _ in range(64)]  # 4 GB, over any budget here
    return [str(len(hoard))]


def test_a_request_conversion_that_overruns_its_time_is_stopped(client, db, settings, monkeypatch):
    settings.CATALOG_CONVERT_SECONDS = 0.5
    monkeypatch.setattr(registry().targets["splunk"].backend_class, "convert", slow_convert)
    response = post_convert(client, rule_text(field="Image", value="x"))
    assert response.status_code == 200
    data = response.json()
    assert data["query"] is None
    assert data["errors"] == ["conversion stopped: it took longer than the 0.5 s budget of a request"]
    assert Rule.objects.count() >= 0  # the worker's database connection still works after the fork


def test_a_request_conversion_that_outgrows_its_memory_is_stopped(client, db, settings, monkeypatch):
    settings.CATALOG_CONVERT_MEMORY_MB = 64
    monkeypatch.setattr(registry().targets["splunk"].backend_class, "convert", greedy_convert)
    data = post_convert(client, rule_text(field="Image", value="x")).json()
    assert data["query"] is None
    assert data["errors"] == ["conversion stopped: it needed more than its 64 MB memory budget"]


def test_preview_shares_one_budget_among_its_targets(client, db, settings, monkeypatch):
    settings.CATALOG_CONVERT_SECONDS = 0.3
    for target_id in DEFAULT_TARGETS:
        monkeypatch.setattr(registry().targets[target_id].backend_class, "convert", slow_convert)
    html = client.post("/preview/", {"yaml": rule_text(field="Image", value="x")}).content.decode()
    assert html.count("took longer than the 0.3 s budget") == 1
    assert html.count("conversion budget is used up") == len(DEFAULT_TARGETS) - 1


def test_a_stopped_conversion_of_a_stored_rule_is_not_cached(client, example_rules, settings, monkeypatch):
    settings.CATALOG_CONVERT_SECONDS = 0.3
    caches["conversions"].clear()
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    backend_class = registry().targets["splunk"].backend_class
    real = backend_class.convert
    monkeypatch.setattr(backend_class, "convert", slow_convert)
    stopped = client.get(f"/api/rules/{CERTUTIL_ID}/query/").json()
    assert stopped["query"] is None and "budget" in stopped["errors"][0]
    assert caches["conversions"].get(stored.cache_key(rule, [], choose("splunk"))) is None
    monkeypatch.setattr(backend_class, "convert", real)
    settings.CATALOG_CONVERT_SECONDS = 10
    assert "certutil" in client.get(f"/api/rules/{CERTUTIL_ID}/query/").json()["query"].lower()


def test_outside_a_request_conversions_run_in_process(monkeypatch):
    """Imports, exports and the CLI convert in their own process: no fork, no budget."""
    monkeypatch.setattr(budget, "_in_process", lambda *a: pytest.fail("forked outside a request"))
    assert convert(pasted("Image"), choose("splunk", "none")).query == 'Image="x"'
    with budget.request_budget():
        monkeypatch.undo()
        assert convert(pasted("Image"), choose("splunk", "none")).query == 'Image="x"'
