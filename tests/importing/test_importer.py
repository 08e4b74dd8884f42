"""The write path: transactional, idempotent, retirement, duplicates, errors, corpus counts."""

import re

import pytest
import yaml
from django.core.management import CommandError, call_command

from catalog.browse.queries.filtersets import RuleFilterSet
from catalog.importing.importer import import_paths
from catalog.models import ImportRun, Indicator, Rule, RuleIndicator, RuleVersion
from tests.constants import (
    CERTUTIL,
    CERTUTIL_ID,
    CORPUS,
    CORPUS_FOLDERS,
    CORPUS_RULES,
    EXAMPLE_FILES,
    EXAMPLE_RULES,
    FILTER_RULE_ID,
    REFERENCE_RULE_ID,
    TEMPORAL_CORRELATION_ID,
)

pytestmark = pytest.mark.django_db


def snapshot(source):
    """Everything an import writes for a source, as comparable data."""
    rules = Rule.objects.filter(source__name=source).order_by("uuid")
    return {
        str(r.uuid): {
            "row": {f: getattr(r, f) for f in ("title", "content_hash", "yaml_text", "retired", "search_text", "path")},
            "updated_at": r.updated_at,
            "stages": list(r.stages.values_list("pk", "index", "name", "text")),
            "predicates": list(r.predicates.values_list("pk", "field", "modifiers", "values")),
            "indicators": list(
                r.rule_indicators.values_list("pk", "indicator_id", "written", "indicator__corpus_count")
            ),
        }
        for r in rules
    }


def test_examples_import_with_every_feature(examples):
    report = import_paths([str(examples)], source="ex")
    assert not report.errors, [str(p) for p in report.errors]
    assert (report.files_read, report.created) == (EXAMPLE_FILES, EXAMPLE_RULES)
    rules = Rule.objects.filter(source__name="ex")
    assert set(rules.values_list("rule_type", flat=True)) == {"rule", "correlation", "filter"}
    assert rules.filter(path__contains=" ").exists() and rules.filter(path__endswith=".yaml").exists()
    # The legacy collection (action: global / reset / repeat) gives four rules from one file.
    assert rules.filter(path__startswith="examples/legacy/").count() == 4
    from catalog.models import Source

    assert Source.objects.get(name="ex").roots == [str(examples)]  # what a re-import must be given


def test_reimport_is_idempotent(examples):
    import_paths([str(examples)], source="ex")
    before = snapshot("ex")
    report = import_paths([str(examples)], source="ex")
    assert (report.created, report.updated, report.retired, report.unchanged) == (0, 0, 0, EXAMPLE_RULES)
    assert "0 created, 0 updated" in report.summary()
    assert snapshot("ex") == before


def test_a_changed_file_updates_only_its_rule_and_keeps_the_previous_version(examples):
    import_paths([str(examples)], source="ex")
    before = snapshot("ex")
    path = examples / CERTUTIL
    path.write_text(path.read_text().replace("title: Certutil", "title: Changed Certutil"))
    report = import_paths([str(examples)], source="ex")
    assert (report.created, report.updated, report.unchanged) == (0, 1, EXAMPLE_RULES - 1)
    after = snapshot("ex")
    assert [u for u in after if after[u] != before[u]] == [CERTUTIL_ID]
    version = RuleVersion.objects.get(rule__uuid=CERTUTIL_ID)
    assert version.title.startswith("Certutil") and version.indicators
    assert Rule.objects.get(uuid=CERTUTIL_ID).title.startswith("Changed Certutil")


def test_a_removed_file_retires_its_rule_and_a_restored_one_comes_back(examples):
    import_paths([str(examples)], source="ex")
    saved = (examples / CERTUTIL).read_bytes()
    (examples / CERTUTIL).unlink()
    report = import_paths([str(examples)], source="ex")
    assert report.retired == 1 and report.changes["retired"] == [CERTUTIL_ID]
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    assert rule.retired  # kept, never deleted
    listed = RuleFilterSet({}, queryset=Rule.objects.filter(source__name="ex")).qs
    assert not listed.filter(uuid=CERTUTIL_ID).exists()
    asked = RuleFilterSet({"retired": "true"}, queryset=Rule.objects.filter(source__name="ex")).qs
    assert list(asked.values_list("uuid", flat=True)) == [rule.uuid]
    (examples / CERTUTIL).write_bytes(saved)
    report = import_paths([str(examples)], source="ex")
    assert report.updated == 1 and not Rule.objects.get(uuid=CERTUTIL_ID).retired


def catalog_state():
    """Row counts of every table an import writes, and the sum of corpus counts."""
    from django.db.models import Sum

    from catalog import models

    tables = [
        models.Rule,
        models.Stage,
        models.Predicate,
        models.Indicator,
        models.RuleIndicator,
        models.RuleReference,
        models.RuleVersion,
        models.ImportRun,
        models.Source,
        models.EventType,
    ]
    return [m.objects.count() for m in tables] + [Indicator.objects.aggregate(n=Sum("corpus_count"))["n"]]


def test_a_failure_mid_import_leaves_the_catalog_exactly_as_before(examples):
    import_paths([str(examples)], source="ex")
    before, before_state = snapshot("ex"), catalog_state()
    runs = ImportRun.objects.count()
    for path in examples.rglob("*.yml"):
        path.write_text(path.read_text().replace("level: high", "level: critical"))
    (examples / "new.yml").write_text(
        (examples / CERTUTIL).read_text().replace(CERTUTIL_ID, "0d0a1b7e-7d7d-4c4c-9a9a-0000000000bb")
    )
    with pytest.raises(RuntimeError, match="injected failure"):
        import_paths([str(examples)], source="ex", fail_after=1)
    assert snapshot("ex") == before and catalog_state() == before_state
    assert ImportRun.objects.count() == runs


def test_bad_files_are_skipped_and_reported_the_rest_imports(examples):
    (examples / "broken.yml").write_text("title: broken\ndetection: [unclosed\n")
    (examples / "binary.yml").write_bytes(b"\x00\x01")
    report = import_paths([str(examples)], source="ex")
    assert report.created == EXAMPLE_RULES
    messages = sorted(str(p) for p in report.errors)
    assert messages[0].startswith("examples/binary.yml:1: binary file")
    assert re.match(r"examples/broken\.yml:\d+: invalid YAML", messages[1])


def test_strict_makes_any_error_fail_the_run_and_the_command_exit_non_zero(examples, capsys):
    (examples / "broken.yml").write_text("title: broken\ndetection: [unclosed\n")
    with pytest.raises(CommandError):
        call_command("import_rules", str(examples), "--source", "ex", "--strict")
    assert not Rule.objects.filter(source__name="ex").exists()
    captured = capsys.readouterr()
    assert "examples/broken.yml:" in captured.err and "ROLLED BACK" in captured.out
    with pytest.raises(CommandError):  # without --strict the good rules land, but the exit is still non-zero
        call_command("import_rules", str(examples), "--source", "ex")
    assert Rule.objects.filter(source__name="ex").count() == EXAMPLE_RULES


def test_the_same_id_in_two_files_first_in_path_order_wins(examples):
    copy = examples / "zz_copy.yml"
    copy.write_text((examples / CERTUTIL).read_text().replace("title: Certutil", "title: Copy"))
    report = import_paths([str(examples)], source="ex")
    [error] = report.errors
    assert error.path == "examples/zz_copy.yml" and CERTUTIL_ID in error.message
    assert f"examples/{CERTUTIL}" in error.message
    assert Rule.objects.get(uuid=CERTUTIL_ID).title.startswith("Certutil")


def test_an_id_owned_by_another_source_is_an_error_naming_it(examples):
    import_paths([str(examples)], source="ex")
    report = import_paths([str(examples / CERTUTIL)], source="other")
    assert report.created == 0 and "already defined in ex:examples/" in report.errors[0].message


def test_curation_is_never_written_by_an_import(examples):
    import_paths([str(examples)], source="ex")
    Rule.objects.filter(uuid=CERTUTIL_ID).update(
        note="keep me",
        verified=True,
        hidden=True,
        level_override="low",
        local_tags_added=["team.red"],
        fp_note="admins",
    )
    path = examples / CERTUTIL
    path.write_text(path.read_text().replace("title: Certutil", "title: New Certutil"))
    import_paths([str(examples)], source="ex")
    rule = Rule.objects.get(uuid=CERTUTIL_ID)
    assert rule.title.startswith("New Certutil")
    assert (rule.note, rule.verified, rule.hidden, rule.level_override, rule.local_tags_added, rule.fp_note) == (
        "keep me",
        True,
        True,
        "low",
        ["team.red"],
        "admins",
    )
    assert "|team.red|" in rule.tag_text


def test_attack_tags_resolve_and_unknown_techniques_are_kept(examples):
    (examples / "unknown_technique.yml").write_text(
        (examples / CERTUTIL)
        .read_text()
        .replace(CERTUTIL_ID, "0d0a1b7e-7d7d-4c4c-9a9a-0000000000aa")
        .replace("tags:\n", "tags:\n    - attack.t9999\n")
    )
    import_paths([str(examples)], source="ex")
    rule = Rule.objects.get(uuid="0d0a1b7e-7d7d-4c4c-9a9a-0000000000aa")
    assert rule.techniques.get(technique_id="T9999").known is False
    proxy = Rule.objects.get(title__startswith="HTTP POST Without User-Agent")
    assert "command-and-control" in set(proxy.tactics.values_list("shortname", flat=True))
    assert proxy.techniques.get(technique_id="T1071.001").name == "Web Protocols"


def test_event_coverage_from_logsource_and_explicit_event_ids(examples):
    import_paths([str(examples)], source="ex")
    security = Rule.objects.get(title="Common Injection Host Process Started Without Arguments")
    assert list(security.events.values_list("provider", "event_id")) == [("Security", 4688)]
    service = Rule.objects.get(title="Service Installed With Remote Execution Tool Image Path")
    assert list(service.events.values_list("provider", "event_id")) == [("System", 7045)]


def test_correlation_and_filter_references_are_stored(examples):
    import_paths([str(examples)], source="ex")
    temporal = Rule.objects.get(uuid=TEMPORAL_CORRELATION_ID)
    assert temporal.correlation["type"] == "temporal"
    assert set(temporal.references_out.values_list("kind", "target")) == {
        ("correlation", "1a3f6459-7594-4b50-b5fc-bfbaa414b310"),
        ("correlation", "win_successful_network_logon"),
    }
    mf = Rule.objects.get(uuid=FILTER_RULE_ID)
    assert mf.rule_type == "filter" and CERTUTIL_ID in mf.filter_rules


def test_the_reference_rule_matches_the_reference_page(corpus):
    from catalog.browse.queries.records import rule_to_dict, rules_for_export

    record = rule_to_dict(rules_for_export().get(uuid=REFERENCE_RULE_ID))
    assert [(a["tactic"], a["technique_id"], a["technique_name"]) for a in record["attack"]] == [
        ("Discovery", "T1049", "System Network Connections Discovery")
    ]
    assert record["events"] == [{"provider": "Sysmon", "event_id": 1, "title": "Process creation"}]
    assert [(s["index"], s["name"]) for s in record["stages"]] == [
        (0, "condition"),
        (1, "selection_img"),
        (2, "selection_cli"),
    ]
    assert record["stages"][0]["text"] == "all of selection_*"
    grouped = {}
    for ind in record["indicators"]:
        grouped.setdefault((ind["field"], ind["kind"]), []).append(ind["value"])
    assert grouped == {
        ("Image", "ends_with"): ["\\net.exe", "\\net1.exe"],
        ("OriginalFileName", "eq"): ["net.exe", "net1.exe"],
        ("CommandLine", "ends_with"): [" use", " sessions"],
        ("CommandLine", "match"): [" use ", " sessions "],
    }


def _independent_net_exe_count() -> int:
    """Count, straight from the YAML, the rules whose Image ends with \\net.exe (docs/design.md semantics)."""
    count = 0
    for folder in CORPUS_FOLDERS:
        for path in (CORPUS / folder).rglob("*.y*ml"):
            for doc in yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader):
                if (
                    isinstance(doc, dict)
                    and isinstance(doc.get("detection"), dict)
                    and _looks_for_net_exe(doc["detection"])
                ):
                    count += 1
    return count


def _looks_for_net_exe(detection) -> bool:
    items = []
    for block in detection.values():
        for mapping in block if isinstance(block, list) else [block]:
            if isinstance(mapping, dict):
                items.extend(mapping.items())
    for key, values in items:
        field, *mods = str(key).split("|")
        if field != "Image":
            continue
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str):
                continue
            value = value.lower()
            if (mods == ["endswith"] and value == "\\net.exe") or (not mods and value == "*\\net.exe"):
                return True
    return False


def test_net_exe_corpus_count_matches_an_independent_count(corpus):
    indicator = Indicator.objects.get(field="Image", kind="ends_with", value="\\net.exe", transforms="", cased=False)
    expected = _independent_net_exe_count()
    assert expected > 10
    # Its carriers look for it (corpus_count), exclude it in a filter block (exclude_count), or both (issue 9).
    carriers = RuleIndicator.objects.filter(indicator=indicator)
    assert carriers.count() == expected
    assert indicator.corpus_count == carriers.exclude(polarity="excludes").count() > 10
    assert indicator.exclude_count == carriers.exclude(polarity="looks_for").count() >= 1


def test_full_corpus_imported_without_errors(corpus):
    assert corpus.count() == CORPUS_RULES
    [run] = [run for run in ImportRun.objects.all() if run.sources == ["sigmahq"]]
    assert run.error_count == 0 and run.created == CORPUS_RULES


def test_deprecated_and_unsupported_import_with_warnings(db, corpus_dir):
    report = import_paths([str(corpus_dir / "deprecated"), str(corpus_dir / "unsupported")], source="legacy")
    # Four unsupported rules have pseudo-code conditions (`write X from sel1 ... -> alert`, `count(x) per y > 200`):
    # a condition that cannot be parsed is an error of its file (tests/matching/test_messy_rules.py).
    assert sorted(p.path for p in report.errors) == [
        "unsupported/network/net_dns_high_subdomain_rate.yml",
        "unsupported/windows/sysmon_always_install_elevated_parent_child_correlated.yml",
        "unsupported/windows/win_dumping_ntdsdit_via_dcsync.yml",
        "unsupported/windows/win_dumping_ntdsdit_via_netsync.yml",
    ]
    assert all("cannot be parsed" in p.message for p in report.errors)
    assert (report.files_read, report.created) == (259, 257)  # two legacy collections hold two rules each
    # 47 of them have a `detection.timeframe` (15m, 1h...): a time window, no keyword they look for.
    assert not Indicator.objects.filter(field="", value__regex=r"^[0-9]+[smhd]$").exists()
    assert any("pipe aggregation" in p.message for p in report.warnings)
    assert all(re.match(r"(deprecated|unsupported)/.+:\d+$", f"{p.path}:{p.line}") for p in report.warnings)


def test_missing_path_is_reported(db, tmp_path):
    report = import_paths([str(tmp_path / "nope")], source="x")
    assert "does not exist" in report.errors[0].message


def test_export_catalog_contract(example_rules, export_catalog):
    records = export_catalog()
    assert list(records) == sorted(records)
    assert set(records) == {str(uuid) for uuid in example_rules.values_list("uuid", flat=True)}
    record = records[CERTUTIL_ID]
    for key in (
        "id",
        "title",
        "status",
        "level",
        "retired",
        "source",
        "path",
        "logsource",
        "attack",
        "events",
        "stages",
        "indicators",
        "warnings",
        "curation",
    ):
        assert key in record
    assert record["logsource"] == {"product": "windows", "category": "process_creation", "service": ""}
    assert set(record["indicators"][0]) >= {"field", "kind", "value", "transforms", "cased", "corpus_count"}
    assert set(record["stages"][1]["predicates"][0]) >= {"field", "modifiers", "values"}
    assert record["source"] == "examples" and record["path"] == f"rules/{CERTUTIL}"
