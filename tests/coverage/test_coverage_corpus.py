"""Issue 12's example on SigmaHQ: Sysmon 1, 3, 11 and Security 4624, 4688.

Expected values come from the rule YAML, read here with PyYAML (not the app's parser), SigmaHQ's
tests/logsource.json (Sysmon's fields) and Microsoft's 4688 schema (ON_4688). Where a rule's
condition has no `not`, every field it names is looked for, so its class can be derived exactly;
those rules are the ones pinned one by one.
"""

import json
import re

import pytest
import yaml

from tests.constants import CORPUS, CORPUS_FOLDERS
from tests.coverage.test_coverage_profile import ON_4688

EXAMPLE = "events=sysmon:1,sysmon:3,sysmon:11,security:4624,security:4688"
TAG = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$")


def detection_rules():
    rules = {}
    for folder in CORPUS_FOLDERS:
        for path in sorted((CORPUS / folder).rglob("*.yml")):
            # libyaml (the safe loader in C): the pure-Python one took 8 s of CPU for the corpus
            for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
                if isinstance(doc, dict) and "detection" in doc and "logsource" in doc and doc.get("id"):
                    rules[str(doc["id"])] = doc
    return rules


def fields_of(rule) -> set[str]:
    names = set()
    for key, block in rule["detection"].items():
        if key in ("condition", "timeframe"):
            continue
        for item in block if isinstance(block, list) else [block]:
            if isinstance(item, dict):
                names.update(str(k).split("|")[0] for k in item)
    return names


def has_not(rule) -> bool:
    condition = rule["detection"].get("condition", "")
    text = " ".join(condition) if isinstance(condition, list) else str(condition)
    return bool(re.search(r"\bnot\b", text))


def techniques_of(rule) -> set[str]:
    found = {m.group(1).upper() for tag in rule.get("tags") or [] if (m := TAG.match(str(tag).lower()))}
    return found | {t.split(".")[0] for t in found}


def is_category(rule, category) -> bool:
    source = rule["logsource"]
    return source.get("product") == "windows" and source.get("category") == category


@pytest.fixture(scope="module")
def yaml_rules():
    return detection_rules()


@pytest.fixture(scope="module")
def sysmon_fields():
    data = json.loads((CORPUS / "tests" / "logsource.json").read_text(encoding="utf-8"))
    windows, addon = data["legit"]["windows"], data["addon"]["windows"]["category"]
    common = {f.casefold() for f in windows["common"]}

    def fields(category):
        return {f.casefold() for f in windows["category"][category] + addon.get(category, [])} | common

    return fields, common


def api(client, query):
    response = client.get(f"/api/coverage/?{query}")
    assert response.status_code == 200
    return response.json()


def by_id(document, klass):
    return {e["id"] if isinstance(e, dict) else e: e for e in document["rules"][klass]}


def test_the_example_profile(client, corpus, yaml_rules, sysmon_fields):
    fields, common = sysmon_fields
    document = api(client, EXAMPLE)
    runnable = by_id(document, "runnable")
    pinned = {i: r for i, r in yaml_rules.items() if is_category(r, "process_creation") and not has_not(r)}
    assert len(pinned) > 300
    both = ofn_or_hashes = 0
    for rule_id, rule in pinned.items():
        needed = {f.casefold() for f in fields_of(rule)} - common
        on_sysmon = needed <= fields("process_creation")
        on_4688 = needed <= ON_4688
        if not (on_sysmon or on_4688):
            assert rule_id in by_id(document, "partial"), rule_id
            continue
        entry = runnable[rule_id]
        expected_via = {token for token, runs in (("sysmon:1", on_sysmon), ("security:4688", on_4688)) if runs}
        assert set(entry["via"]) == expected_via, rule_id
        if not on_4688:
            assert {f.casefold() for f in entry["missing_on"]["security:4688"]} == needed - ON_4688, rule_id
        both += on_sysmon and on_4688
        if needed & {"originalfilename", "hashes"}:
            ofn_or_hashes += 1
            assert {"originalfilename", "hashes"} & {f.casefold() for f in entry["missing_on"]["security:4688"]}
    through_both = [e for e in runnable.values() if {"sysmon:1", "security:4688"} <= set(e["via"])]
    assert both > 100 and ofn_or_hashes > 30
    assert len([e for e in through_both if e["id"] in pinned]) == both
    assert document["counts"]["runnable"] == len(runnable)


def test_uncovered_techniques_follow_from_the_tags(client, corpus, yaml_rules):
    document = api(client, EXAMPLE)
    runnable = set(by_id(document, "runnable"))
    tagged, covered = set(), set()
    for rule_id, rule in yaml_rules.items():
        if "correlation" in rule or "filter" in rule:
            continue
        tagged |= techniques_of(rule)
        if rule_id in runnable:
            covered |= techniques_of(rule)
    uncovered = {t["id"] for t in document["techniques"]["uncovered"]}
    assert uncovered == tagged - covered and len(uncovered) > 20
    assert {t["id"] for t in document["techniques"]["covered"]} == covered


def test_add_this_next_is_ranked_and_adds_what_it_says(client, corpus, yaml_rules, sysmon_fields):
    fields, common = sysmon_fields
    document = api(client, EXAMPLE)
    steps = document["add_next"]
    assert [s["rules"] for s in steps] == sorted((s["rules"] for s in steps), reverse=True)
    before = set(by_id(document, "runnable"))
    for step in steps[:3] + [s for s in steps if s["token"] == "sysmon:10"]:
        param = "logsources" if step["token"].startswith("logsource=") else "events"
        value = step["token"].removeprefix("logsource=")
        after = set(by_id(api(client, f"{EXAMPLE}&{param}={value}"), "runnable"))
        assert before <= after and len(after - before) == step["rules"], step["token"]
        if step["token"] == "sysmon:10":
            gained = after - before
            access = {i for i, r in yaml_rules.items() if is_category(r, "process_access")}
            sure = {i for i in access if {f.casefold() for f in fields_of(yaml_rules[i])} <= fields("process_access")}
            assert sure <= gained <= access and len(sure) > 20
