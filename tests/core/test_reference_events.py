"""Tests for catalog.events (pure Python, no Django)."""

import ast
from pathlib import Path

import pytest

from catalog.core.reference.event_tables import EVENT_TITLES, WINDOWS_SERVICES
from catalog.core.taxonomy.events import EventRef, events_for, windows_categories


def test_windows_process_creation_is_sysmon_1():
    assert events_for("windows", "process_creation", "", []) == [EventRef("Sysmon", 1, "Process creation")]


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("network_connection", [EventRef("Sysmon", 3, "Network connection detected")]),
        ("image_load", [EventRef("Sysmon", 7, "Image loaded")]),
        ("create_remote_thread", [EventRef("Sysmon", 8, "CreateRemoteThread detected")]),
        ("process_access", [EventRef("Sysmon", 10, "Process accessed")]),
        ("file_event", [EventRef("Sysmon", 11, "File created")]),
        ("registry_set", [EventRef("Sysmon", 13, "Registry value set")]),
        ("dns_query", [EventRef("Sysmon", 22, "DNS query")]),
        ("raw_access_thread", [EventRef("Sysmon", 9, "RawAccessRead detected")]),
        (
            "file_delete",
            [EventRef("Sysmon", 23, "File delete archived"), EventRef("Sysmon", 26, "File delete logged")],
        ),
        ("ps_script", [EventRef("PowerShell", 4104, "Script block logging")]),
        ("ps_module", [EventRef("PowerShell", 4103, "Module logging")]),
        ("ps_classic_start", [EventRef("Windows PowerShell", 400, "Engine state changed (start)")]),
    ],
)
def test_windows_categories(category, expected):
    assert events_for("windows", category, "", []) == expected


def test_registry_event_covers_12_13_14():
    assert events_for("windows", "registry_event", "", []) == [
        EventRef("Sysmon", 12, "Registry object added or deleted"),
        EventRef("Sysmon", 13, "Registry value set"),
        EventRef("Sysmon", 14, "Registry object renamed"),
    ]


def test_category_explicit_ids_valid_for_provider_win():
    assert events_for("windows", "registry_event", "", [13, 12]) == [
        EventRef("Sysmon", 12, "Registry object added or deleted"),
        EventRef("Sysmon", 13, "Registry value set"),
    ]


def test_category_explicit_ids_not_valid_for_provider_are_ignored():
    # 4688 is a Security id, not a Sysmon one: keep the category's own event.
    assert events_for("windows", "process_creation", "", [4688]) == [EventRef("Sysmon", 1, "Process creation")]


def test_security_4688():
    assert events_for("windows", "", "security", [4688]) == [
        EventRef("Security", 4688, "A new process has been created")
    ]


def test_security_several_ids():
    assert events_for("windows", "", "security", [4625, 4624]) == [
        EventRef("Security", 4624, "An account was successfully logged on"),
        EventRef("Security", 4625, "An account failed to log on"),
    ]


def test_unknown_security_id_has_empty_title():
    assert events_for("windows", "", "security", [4999]) == [EventRef("Security", 4999, "")]


def test_system_without_ids_is_channel_row():
    assert events_for("windows", "", "system", []) == [EventRef("System", None, "System log (any event)")]


def test_system_7045():
    assert events_for("windows", "", "system", [7045]) == [
        EventRef("System", 7045, "A service was installed in the system")
    ]


def test_service_without_title_table_keeps_ids():
    assert events_for("windows", "", "appxdeployment-server", [854]) == [EventRef("AppXDeployment-Server", 854, "")]


def test_linux_auditd():
    assert events_for("linux", "", "auditd", []) == [EventRef("auditd", None, "auditd log (any event)")]


def test_linux_process_creation_is_sysmon_for_linux():
    assert events_for("linux", "process_creation", "", []) == [EventRef("Sysmon for Linux", 1, "Process creation")]


@pytest.mark.parametrize(
    ("product", "category", "service"),
    [
        ("unknownproduct", "process_creation", ""),
        ("", "process_creation", ""),  # no product: not assumed to be Windows
        ("macos", "process_creation", ""),
        ("aws", "", "cloudtrail"),
        ("windows", "file_access", ""),  # not backed by a Sysmon event
        ("windows", "", "no-such-service"),
        ("windows", "", ""),
    ],
)
def test_no_coverage(product, category, service):
    assert events_for(product, category, service, [1]) == []


def test_input_is_case_insensitive():
    assert events_for("Windows", "Process_Creation", "", []) == events_for("windows", "process_creation", "", [])
    assert events_for("WINDOWS", "", "Security", [4688]) == events_for("windows", "", "security", [4688])


def test_rows_are_deduplicated_and_sorted():
    rows = events_for("windows", "", "security", [4688, 4624, 4688, "4624", 4999])
    assert rows == [
        EventRef("Security", 4624, "An account was successfully logged on"),
        EventRef("Security", 4688, "A new process has been created"),
        EventRef("Security", 4999, ""),
    ]


def test_every_category_event_has_a_title():
    for category, (provider, ids) in windows_categories().items():
        for event_id in ids:
            assert EVENT_TITLES[provider][event_id], (category, event_id)


def test_every_windows_service_has_a_channel_row():
    for service, provider in WINDOWS_SERVICES.items():
        assert events_for("windows", "", service, []) == [EventRef(provider, None, f"{provider} log (any event)")]


def test_module_does_not_import_django():
    source = (Path(__file__).resolve().parents[2] / "catalog" / "core" / "taxonomy" / "events.py").read_text(
        encoding="utf-8"
    )
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "django" not in imported
