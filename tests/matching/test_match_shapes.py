"""Issue 21: events in the shapes SIEMs log them in (ECS, Splunk, Sentinel, Defender XDR) match as the
Windows rendering does, through the pySigma pipelines' field mappings read in reverse (catalog.core.sigma.shapes).

One logical event, cmd.exe running `whoami` under SQL Server, is written here in each shape, by hand from
each product's documented field names: a Sysmon 1 event as EVTX renders it; Winlogbeat's ECS document,
nested and with dotted keys; Splunk's Windows add-on with CIM names, plain and as a search export row;
Sentinel's SecurityEvent 4688 row; Defender XDR's DeviceProcessEvents row. Each must fire the same rules,
with the same predicates matching the same fields and text, and say which shape it was read in.
"""

import json
import uuid

import pytest
from django.core.management import call_command

from catalog.core.sigma.explain import matched_predicates
from catalog.core.sigma.logged_events import flatten_event, shaped_event
from catalog.core.sigma.shape_mappings import reversed_pipeline
from catalog.importing.importer import import_paths
from catalog.matching.engine import forget_compiled

IMAGE = "C:\\Windows\\System32\\cmd.exe"
COMMAND = '"C:\\Windows\\system32\\cmd.exe" /c whoami /all'
PARENT = "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe"
PARENT_COMMAND = f'"{PARENT}" -sMSSQLSERVER'
HOST = "sql01.corp.example"
SYSMON = "Microsoft-Windows-Sysmon/Operational"

XML = {  # as pyevtx-rs renders a Sysmon 1 record (the shape of SigmaHQ's regression data)
    "Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
            "EventID": 1,
            "Channel": SYSMON,
            "Computer": HOST,
            "TimeCreated": {"#attributes": {"SystemTime": "2025-03-01T10:00:00.000000Z"}},
        },
        "EventData": {
            "UtcTime": "2025-03-01 10:00:00.000",
            "ProcessId": 4242,
            "Image": IMAGE,
            "OriginalFileName": "Cmd.Exe",
            "CommandLine": COMMAND,
            "User": "NT SERVICE\\MSSQLSERVER",
            "IntegrityLevel": "System",
            "ParentProcessId": 1000,
            "ParentImage": PARENT,
            "ParentCommandLine": PARENT_COMMAND,
        },
    }
}
ECS = {  # Winlogbeat 8 with its Sysmon module (Elastic Agent's Windows integration writes the same fields)
    "@timestamp": "2025-03-01T10:00:00.000Z",
    "ecs": {"version": "8.0.0"},
    "event": {"code": "1", "provider": "Microsoft-Windows-Sysmon", "kind": "event", "category": ["process"]},
    "host": {"name": HOST},
    "winlog": {
        "channel": SYSMON,
        "event_id": "1",
        "provider_name": "Microsoft-Windows-Sysmon",
        "computer_name": HOST,
        "event_data": {"IntegrityLevel": "System", "LogonId": "0x3e7"},
    },
    "process": {
        "executable": IMAGE,
        "command_line": COMMAND,
        "name": "cmd.exe",
        "pid": 4242,
        "args": ["cmd.exe", "/c", "whoami", "/all"],
        "parent": {"executable": PARENT, "command_line": PARENT_COMMAND, "name": "sqlservr.exe", "pid": 1000},
        "pe": {"original_file_name": "Cmd.Exe"},
    },
    "user": {"name": "MSSQLSERVER", "domain": "NT SERVICE"},
}
SPLUNK = {  # Splunk Add-on for Sysmon: only CIM names for the process fields, no `Image` / `CommandLine`
    "_time": "2025-03-01T10:00:00.000+00:00",
    "host": "sql01",
    "source": f"XmlWinEventLog:{SYSMON}",
    "sourcetype": "XmlWinEventLog",
    "EventCode": "1",
    "process": COMMAND,
    "process_path": IMAGE,
    "process_name": "cmd.exe",
    "parent_process": PARENT_COMMAND,
    "parent_process_path": PARENT,
    "dest": HOST,
    "user": "NT SERVICE\\MSSQLSERVER",
    "process_id": "4242",
}
SENTINEL = {  # a SecurityEvent row: Security 4688 with its own field names
    "TimeGenerated": "2025-03-01T10:00:00Z",
    "Type": "SecurityEvent",
    "Computer": HOST,
    "EventSourceName": "Microsoft-Windows-Security-Auditing",
    "Channel": "Security",
    "EventID": 4688,
    "Activity": "4688 - A new process has been created.",
    "SubjectUserName": "SQL01$",
    "NewProcessName": IMAGE,
    "NewProcessId": "0x1092",
    "CommandLine": COMMAND,
    "ParentProcessName": PARENT,
}
DEFENDER = {  # an Advanced Hunting DeviceProcessEvents row (no table column: its ActionType tells)
    "Timestamp": "2025-03-01T10:00:00Z",
    "DeviceId": "4f1c2a",
    "DeviceName": HOST,
    "ActionType": "ProcessCreated",
    "FileName": "cmd.exe",
    "FolderPath": IMAGE,
    "ProcessCommandLine": COMMAND,
    "ProcessId": 4242,
    "AccountName": "mssqlserver",
    "InitiatingProcessFileName": "sqlservr.exe",
    "InitiatingProcessFolderPath": PARENT,
    "InitiatingProcessCommandLine": PARENT_COMMAND,
    "InitiatingProcessId": 1000,
    "ReportId": 1234,
}


def dotted_keys(data: dict, prefix: str = "") -> dict:
    """The ECS document as Kibana's flattened JSON view shows it: one level, dotted keys."""
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(dotted_keys(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


SHAPES = {  # name -> (event, the shape it must be reported in)
    "xml": (XML, "windows-xml"),
    "ecs nested": (ECS, "ecs"),
    "ecs dotted": (dotted_keys(ECS), "ecs"),
    "splunk": (SPLUNK, "splunk"),
    "splunk export": ({"preview": False, "result": SPLUNK}, "splunk"),
    "sentinel": (SENTINEL, "sentinel-securityevent"),
    "defender": (DEFENDER, "defender-xdr"),
}

RULE = """title: {title}
id: {id}
status: test
description: written for tests/matching/test_match_shapes.py
author: tests
date: 2025-01-01
logsource:
    category: process_creation
    product: windows
detection:
{detection}
level: high
"""
RULES = {
    # SigmaHQ's "Suspicious Child Process Of SQL Server" (869b9ca7), its Image list shortened
    "Suspicious Child Process Of SQL Server": """    selection:
        ParentImage|endswith: '\\sqlservr.exe'
        Image|endswith:
            - '\\bash.exe'
            - '\\cmd.exe'
            - '\\powershell.exe'
    filter_optional_datev:
        ParentImage|startswith: 'C:\\Program Files\\Microsoft SQL Server\\'
        ParentImage|endswith: 'DATEV_DBENGINE\\MSSQL\\Binn\\sqlservr.exe'
        Image: 'C:\\Windows\\System32\\cmd.exe'
        CommandLine|startswith: '"C:\\Windows\\system32\\cmd.exe" '
    condition: selection and not 1 of filter_optional_*""",
    "Discovery Run By SQL Server": """    selection:
        ParentImage|endswith: '\\sqlservr.exe'
        CommandLine|contains|all: ['whoami', '/all']
    condition: selection""",
    "PowerShell Run By SQL Server": """    selection:
        ParentImage|endswith: '\\sqlservr.exe'
        Image|endswith: '\\powershell.exe'
    condition: selection""",
}
FIRING = {"Suspicious Child Process Of SQL Server", "Discovery Run By SQL Server"}


@pytest.fixture
def rules(db, tmp_path, settings):
    """The rules above imported (source "shapes"), next to the example rules: title -> id."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "match": None}}
    folder = tmp_path / "shapes"
    folder.mkdir()
    ids = {}
    for number, (title, detection) in enumerate(RULES.items()):
        ids[title] = str(uuid.uuid4())
        text = RULE.format(title=title, id=ids[title], detection=detection)
        (folder / f"rule_{number}.yml").write_text(text, encoding="utf-8")
    report = import_paths([str(folder)], source="shapes")
    assert not report.errors, [str(p) for p in report.errors]
    # rolled-back tests can leave another catalog under the same version number and rule pks
    forget_compiled()
    yield ids
    forget_compiled()


def post(client, events, query=""):
    response = client.post(f"/api/match/{query}", json.dumps(events), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def hits(event: dict) -> dict[str, list[dict]]:
    """Fired rule id -> the predicates that matched: block, predicate, event field and matched text."""
    return {rule["id"]: matched_predicates(rule["explanation"]) for rule in event["rules"]}


def answered(client, query=""):
    answer = post(client, [event for event, _ in SHAPES.values()], query)
    return dict(zip(SHAPES, answer["events"], strict=True))


def check_reference(reference: dict, rules: dict) -> None:
    """What the Sysmon 1 event in the Windows rendering fires, read from the rules and event above."""
    assert {title for title, id in rules.items() if id in reference} == FIRING
    assert reference[rules["Suspicious Child Process Of SQL Server"]] == [
        {
            "block": "selection",
            "predicate": "ParentImage|endswith",
            "field": "ParentImage",
            "matched": ["\\sqlservr.exe"],
        },
        {"block": "selection", "predicate": "Image|endswith", "field": "Image", "matched": ["\\cmd.exe"]},
    ]
    assert reference[rules["Discovery Run By SQL Server"]][1] == {
        "block": "selection",
        "predicate": "CommandLine|contains|all",
        "field": "CommandLine",
        "matched": ["whoami", "/all"],
    }


def test_every_shape_fires_the_same_rules_with_the_same_explanation(client, rules):
    """The log source given (as a Sentinel 4688 row needs: below), every shape fires what the XML rendering does."""
    events = answered(client, "?product=windows&category=process_creation")
    assert {name: event["shape"] for name, event in events.items()} == {n: s for n, (_, s) in SHAPES.items()}
    reference = hits(events["xml"])
    check_reference(reference, rules)
    for name, event in events.items():
        assert hits(event) == reference, name
    # the existing keys are all still there
    assert {"fields", "complete", "logsource", "cut_off", "explanations_left_out", "rules"} <= set(events["ecs nested"])


def test_each_shape_gets_the_log_source_of_its_event(client, rules):
    """Inferred, as for the Windows rendering: the Sysmon 1 shapes (and the Defender row, by its fields) are a
    Windows process creation and fire the same rules; the Sentinel row is a Security 4688 event, inferred
    as the same event in the Windows rendering is (which rules that runs is log-source inference's matter)."""
    events = answered(client)
    reference = hits(events["xml"])
    check_reference(reference, rules)
    for name, event in events.items():
        if name != "sentinel":
            assert event["logsource"]["product"] == "windows", name
            assert event["logsource"]["category"] == "process_creation", name
            assert hits(event) == reference, name
    security_xml = {"Channel": "Security", "EventID": 4688, "NewProcessName": IMAGE, "CommandLine": COMMAND}
    (rendered,) = post(client, [security_xml])["events"]
    assert rendered["shape"] == "windows-xml" and events["sentinel"]["logsource"] == rendered["logsource"]
    # Security 4688 runs the process_creation rules through the taxonomy's renames (catalog/core/taxonomy), so
    # the Sentinel row fires what the Sysmon shapes fire.
    assert hits(events["sentinel"]) == reference


def test_the_page_says_which_shape_it_read(client, rules):
    page = client.post("/match/", {"event": json.dumps([DEFENDER, ECS])})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Read as: Microsoft Defender XDR (<code>defender-xdr</code>)" in text
    assert "Read as: Elastic Common Schema (Winlogbeat / Elastic Agent) (<code>ecs</code>)" in text
    assert text.count("Suspicious Child Process Of SQL Server") >= 2


def test_match_event_reads_every_shape_in_a_file(rules, tmp_path, capsys, settings):
    settings.CATALOG_MATCH_SAMPLE_EVENTS = len(SHAPES)  # every hit explained
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(event) + "\n" for event, _ in SHAPES.values()), encoding="utf-8")
    source = ("--product", "windows", "--category", "process_creation")
    call_command("match_event", str(events), "--format", "jsonl", *source)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    by_event: dict[int, dict] = {}
    for record in records:
        by_event.setdefault(record["event"], {"shape": record["shape"], "hits": {}})
        by_event[record["event"]]["hits"][record["rule"]["id"]] = record["matched"]
    assert [by_event[n]["shape"] for n in sorted(by_event)] == [shape for _, shape in SHAPES.values()]
    reference = by_event[1]["hits"]
    assert {rules[title] for title in FIRING} <= set(reference)
    assert all(by_event[n]["hits"] == reference for n in by_event)
    call_command("match_event", str(events), *source)
    assert (
        "7 event(s), 7 with hits (read as: windows-xml 1, ecs 2, splunk 2, sentinel-securityevent 1, defender-xdr 1)"
        in (capsys.readouterr().out)
    )


# --- the renaming itself, without the catalog ------------------------------------------------------


def test_the_mappings_are_the_pipelines_read_backwards():
    ecs = reversed_pipeline("ecs_windows")
    assert ecs.fields["process.executable"][0] == "Image"  # from Image -> process.executable.caseless
    assert ecs.fields["winlog.channel"] == ("Channel",) and ecs.prefixes == ("winlog.event_data.",)
    # one ECS field for several Sigma fields: every one is kept
    assert {"TargetFilename", "ImageLoaded", "FileName"} <= set(ecs.fields["file.path"])
    xdr = reversed_pipeline("microsoft_xdr").tables["DeviceProcessEvents"]
    # the table's own mapping first; the generic one (InitiatingProcessCommandLine -> CommandLine) only
    # for Sigma fields the table does not map
    assert xdr["InitiatingProcessCommandLine"] == ("ParentCommandLine",) and xdr["FolderPath"] == ("Image",)
    assert reversed_pipeline("azure_monitor").tables["SecurityEvent"]["NewProcessName"][0] == "Image"
    assert "InitiatingProcessParentFileName" not in reversed_pipeline("microsoft_xdr").fields  # a file name only


def test_ambiguous_fields_fill_every_candidate_and_keep_the_logged_names():
    flat, shape = shaped_event(
        {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational"}, "file": {"path": "C:\\a.dll"}}
    )
    assert shape == "ecs"
    assert flat["TargetFilename"] == flat["ImageLoaded"] == flat["FileName"] == flat["file.path"] == "C:\\a.dll"
    assert flat["Channel"] == "Microsoft-Windows-Sysmon/Operational"


def test_an_own_windows_field_wins_over_a_renamed_one():
    flat, shape = shaped_event({"EventCode": "1", "CommandLine": "own", "process": "cim"})
    assert shape == "splunk" and flat["CommandLine"] == "own" and flat["EventID"] == "1" and flat["process"] == "cim"
    flat, _ = shaped_event({"winlog": {"event_data": {"CommandLine": "own"}}, "process": {"command_line": "ecs"}})
    assert flat["CommandLine"] == "own"


def test_a_defender_row_is_renamed_by_its_table():
    row = {
        "DeviceName": "h",
        "ActionType": "ImageLoaded",
        "FolderPath": "C:\\x.dll",
        "InitiatingProcessFolderPath": "C:\\p.exe",
    }
    flat, shape = shaped_event(row)
    assert shape == "defender-xdr" and flat["ImageLoaded"] == "C:\\x.dll" and flat["Image"] == "C:\\p.exe"
    flat, _ = shaped_event({**row, "Type": "DeviceProcessEvents"})  # a table column wins over ActionType
    assert flat["Image"] == "C:\\x.dll" and flat["ParentImage"] == "C:\\p.exe"


def test_other_events_are_read_as_before():
    cloudtrail = {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "userIdentity": {"type": "IAMUser"}}
    flat, shape = shaped_event(cloudtrail)
    assert shape == "flat" and flat == {
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "userIdentity.type": "IAMUser",
        "type": "IAMUser",
    }
    wrapped = {"result": {"Image": IMAGE}}  # no Splunk export row: its shape is not Splunk's
    assert shaped_event(wrapped) == ({"result.Image": IMAGE, "Image": IMAGE}, "flat")
    windows = {"Channel": "Security", "EventID": 4688, "NewProcessName": IMAGE}
    assert shaped_event(windows) == (windows, "windows-xml")
    assert flatten_event(XML)["Image"] == IMAGE and shaped_event(XML)[1] == "windows-xml"
