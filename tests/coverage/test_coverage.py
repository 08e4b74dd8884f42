"""Telemetry coverage on a handful of rules written here: classes, missing fields, polarity, upkeep, API.

Each rule's expected class is decided by what the test wrote into it (its log source and the
fields it looks for), against the event schemas stated in tests/coverage/test_coverage_profile.py.
"""

import json
import re

import pytest

from catalog.importing.importer import import_paths
from catalog.models import Rule, TelemetryProfile
from catalog.publishing.visibility import set_visibility

IDS = {
    "plain": "0d6c9a10-0000-4000-8000-000000000001",  # Image + CommandLine: runs on Sysmon 1 and on 4688
    "ofn": "0d6c9a10-0000-4000-8000-000000000002",  # OriginalFileName: Sysmon 1 only
    "filtered": "0d6c9a10-0000-4000-8000-000000000003",  # looks for Image, only *excludes* Hashes
    "lsass": "0d6c9a10-0000-4000-8000-000000000004",  # process_access: Sysmon 10
    "auditd": "0d6c9a10-0000-4000-8000-000000000005",  # linux auditd
    "logon": "0d6c9a10-0000-4000-8000-000000000006",  # Security 4624 by EventID
}
RULE = """\
title: Coverage probe {name}
id: {id}
status: test
level: high
tags: [{tags}]
logsource: {logsource}
detection:
{detection}
"""
RULES = {
    "plain": ("attack.t1059.001", "{product: windows, category: process_creation}",
              "  sel: {{Image|endswith: '\\\\probe.exe', CommandLine|contains: ' -probe'}}\n  condition: sel"),
    "ofn": ("attack.t1218", "{product: windows, category: process_creation}",
            "  sel: {{OriginalFileName: probe.exe}}\n  condition: sel"),
    "filtered": ("attack.t1105", "{product: windows, category: process_creation}",
                 "  sel: {{Image|endswith: '\\\\probe2.exe'}}\n  filter: {{Hashes|contains: 'SHA256=00'}}\n"
                 "  condition: sel and not filter"),
    "lsass": ("attack.t1003.001", "{product: windows, category: process_access}",
              "  sel: {{TargetImage|endswith: '\\\\lsass.exe', GrantedAccess: '0x1010'}}\n  condition: sel"),
    "auditd": ("attack.t1070.002", "{product: linux, service: auditd}",
               "  sel: {{type: EXECVE, a0: probe}}\n  condition: sel"),
    "logon": ("attack.t1078", "{product: windows, service: security}",
              "  sel: {{EventID: 4624, LogonType: 10}}\n  condition: sel"),
}  # fmt: skip
EXAMPLE = "events=sysmon:1,sysmon:3,sysmon:11,security:4624,security:4688"


@pytest.fixture
def probes(db, tmp_path):
    for name, (tags, logsource, detection) in RULES.items():
        text = RULE.format(name=name, id=IDS[name], tags=tags, logsource=logsource, detection=detection)
        (tmp_path / f"{name}.yml").write_text(text.replace("{{", "{").replace("}}", "}"), encoding="utf-8")
    report = import_paths([str(tmp_path)], source="h12-probes")
    assert not report.errors, [str(p) for p in report.errors]
    return tmp_path


def mine(client, query):
    """The API's answer restricted to the probe rules: {class: {name: entry}}."""
    response = client.get(f"/api/coverage/?{query}")
    assert response.status_code == 200, response.content
    names = {v: k for k, v in IDS.items()}
    out = {}
    for klass, entries in response.json()["rules"].items():
        for entry in entries:
            rule_id = entry if isinstance(entry, str) else entry["id"]
            if rule_id in names:
                out.setdefault(klass, {})[names[rule_id]] = entry
    return out, response.json()


def test_the_example_profile_runs_process_creation_through_sysmon_1_and_security_4688(client, probes):
    classes, _ = mine(client, EXAMPLE)
    runnable = classes["runnable"]
    assert set(runnable) == {"plain", "ofn", "filtered", "logon"}
    assert set(runnable["plain"]["via"]) == {"sysmon:1", "security:4688"}
    assert runnable["ofn"]["via"] == ["sysmon:1"]
    assert runnable["ofn"]["missing_on"] == {"security:4688": ["OriginalFileName"]}
    assert set(runnable["filtered"]["via"]) == {"sysmon:1", "security:4688"}  # Hashes is only excluded
    assert runnable["logon"]["via"] == ["security:4624"]
    assert set(classes["not_runnable"]) == {"lsass", "auditd"}


def test_4688_alone_leaves_rules_needing_other_fields_partial(client, probes):
    classes, _ = mine(client, "events=security:4688")
    assert set(classes["runnable"]) == {"plain", "filtered"}
    assert classes["partial"]["ofn"]["missing"] == ["OriginalFileName"]


def test_blind_spots_and_add_next(client, probes):
    _, document = mine(client, EXAMPLE)
    uncovered = {t["id"]: t for t in document["techniques"]["uncovered"]}
    assert "T1003.001" in uncovered and "T1059.001" not in uncovered
    assert {"token": "sysmon:10", "label": "sysmon:10 Process accessed", "rules": 1} in uncovered["T1003.001"][
        "would_cover"
    ]
    steps = {step["token"]: step for step in document["add_next"]}
    assert "T1003.001" in steps["sysmon:10"]["techniques"]
    assert "logsource=linux::auditd" in steps
    assert [s["rules"] for s in document["add_next"]] == sorted(
        (s["rules"] for s in document["add_next"]), reverse=True
    )
    # Adding the suggested event makes the probe runnable.
    classes, _ = mine(client, EXAMPLE + "&logsources=linux::auditd&events=sysmon:10")
    assert {"lsass", "auditd"} <= set(classes["runnable"])


def test_hiding_and_changing_rules_keeps_the_summary_exact(client, probes):
    set_visibility(Rule.objects.filter(uuid=IDS["plain"]), hidden=True)
    classes, _ = mine(client, EXAMPLE)
    assert "plain" not in classes.get("runnable", {})
    ofn = probes / "ofn.yml"
    ofn.write_text(ofn.read_text().replace("OriginalFileName: probe.exe", "CommandLine: probe.exe"))
    assert not import_paths([str(probes)], source="h12-probes").errors
    classes, _ = mine(client, "events=security:4688")
    assert "ofn" in classes["runnable"]


def test_the_api_takes_a_posted_profile_and_refuses_bad_input(client, probes):
    body = json.dumps({"events": ["security:4688"], "logsources": "linux::auditd"})
    response = client.post("/api/coverage/", body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["profile"] == {"events": ["security:4688"], "logsources": ["linux::auditd"], "unfilled": []}
    assert client.post("/api/coverage/", {"events": "sysmon:1"}).status_code == 415
    assert client.post("/api/coverage/", "{", content_type="application/json").status_code == 400
    assert client.get("/api/coverage/?event=sysmon:1").status_code == 400
    assert client.get("/api/coverage/?events=sysmon:1%00").status_code == 400
    nul = client.post("/api/coverage/", json.dumps({"events": "sysmon:1\x00"}), content_type="application/json")
    assert nul.status_code == 400 and "NUL" in nul.json()["errors"]["profile"][0]
    assert "rules" not in client.get(f"/api/coverage/?{EXAMPLE}&rules=0").json()


def test_the_page_lists_classes_missing_fields_blind_spots_and_next_steps(client, probes):
    page = client.get(f"/coverage/?{EXAMPLE}").content.decode()
    assert 'value="sysmon:1" checked' in page and 'value="sysmon:10">' in page
    assert "OriginalFileName" in page and 'on <code class="token">security:<wbr>4688</code>' in page
    assert 'collect <code class="token">sysmon:<wbr>10</code> to run 1 more rule' in page
    uncovered = client.get(f"/coverage/?{EXAMPLE}&uncovered=1").content.decode()
    assert ">T1003.001<" in uncovered and ">T1059.001<" not in uncovered
    rules = client.get(f"/coverage/rules/?{EXAMPLE}&class=runnable").content.decode()
    assert "Coverage probe ofn" in rules and "Coverage probe lsass" not in rules
    assert client.get("/coverage/?events=nope").status_code == 400
    twin = re.search(r'<link rel="alternate" type="application/json" href="([^"]+)"', page).group(1)
    assert twin.startswith("/api/coverage/?") and client.get(twin.replace("&amp;", "&")).status_code == 200


def test_exports_take_the_profile(client, probes):
    layer = client.get(f"/coverage/navigator.json?{EXAMPLE}").json()
    techniques = {t["techniqueID"] for t in layer["techniques"]}
    assert {"T1059.001", "T1218"} <= techniques and "T1003.001" not in techniques
    csv_text = b"".join(client.get(f"/coverage/export.csv?{EXAMPLE}").streaming_content).decode()
    assert "Coverage probe plain" in csv_text and "Coverage probe lsass" not in csv_text


def test_curators_save_profiles_listed_for_everyone(client, probes, django_user_model):
    from django.contrib.auth.models import Group

    curator = django_user_model.objects.create_user("cura", password="x", is_staff=True)
    curator.groups.add(Group.objects.get(name="curator"))
    client.force_login(curator)
    response = client.post(
        "/admin/catalog/telemetryprofile/add/",
        {"name": "Sysmon default", "slug": "sysmon-default", "events": "sysmon:1, Sysmon:3", "logsources": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TelemetryProfile.objects.get().events == "sysmon:1,sysmon:3"
    refused = client.post(
        "/admin/catalog/telemetryprofile/add/", {"name": "Bad", "slug": "bad", "events": "sysmon", "logsources": ""}
    )
    assert refused.status_code == 200 and "provider:event_id" in refused.content.decode()
    client.logout()
    assert "/coverage/?events=sysmon%3A1%2Csysmon%3A3" in client.get("/coverage/").content.decode()


def test_uncovered_only_on_the_attack_matrix_and_tactic_pages(client, probes):
    everything = client.get("/attack/").content.decode()
    uncovered = client.get("/attack/?uncovered=1").content.decode()
    assert 'href="/attack/T1059/"' in everything and 'href="/attack/T1059/"' not in uncovered  # probes tag T1059.001
    assert 'href="/attack/T1001/"' in uncovered  # Data Obfuscation: no rule here tags it
    tactic = client.get("/attack/tactics/execution/?uncovered=1").content.decode()
    all_tactic = client.get("/attack/tactics/execution/").content.decode()
    chip = re.compile(r'class="chip heat-\d" href="/attack/T1059/"')
    assert chip.search(all_tactic) and not chip.search(tactic) and "Show all" in tactic
