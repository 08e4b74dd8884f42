"""Which value a Sigma field name reads in a Windows event (catalog.core.sigma.event_fields): System, EventData and
UserData as the spec names them, a name both the header and the data hold read as the data's (event 104's
`Channel` is the cleared log), the record identity kept the header's, empty elements read as ''.

The events are tests/matching/events/ (hand-written in pyevtx-rs's rendering), SigmaHQ's regression event with a
UserData section, and variants of them built here.
"""

import copy
import json
from pathlib import Path

import pytest

from catalog.core.sigma.event_fields import record_fields
from catalog.core.sigma.logged_events import shaped_event

EVENTS = Path(__file__).resolve().parent.parent / "matching" / "events"
TASKS = "Microsoft-Windows-TaskScheduler/Operational"


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def test_a_name_the_user_data_holds_reads_the_cleared_log_and_keeps_the_records_as_system():
    flat, shape = shaped_event(event("eventlog_cleared_104_taskscheduler.json"))
    assert shape == "windows-xml"
    assert flat["Channel"] == TASKS and flat["LogFileCleared.Channel"] == TASKS
    assert flat["System.Channel"] == "System"
    assert flat["EventID"] == 104 and flat["Provider_Name"] == "Microsoft-Windows-Eventlog"
    assert flat["SubjectUserName"] == "jdoe" and flat["LogFileCleared.SubjectDomainName"] == "CORP"
    # the log source is the record's: the log the event was written to
    assert record_fields(flat)["Channel"] == "System" and record_fields(flat)["EventID"] == 104


def test_when_both_name_the_same_log_nothing_is_doubled():
    flat, _ = shaped_event(event("eventlog_cleared_104_system.json"))
    assert flat["Channel"] == "System" and "System.Channel" not in flat
    assert record_fields(flat) is flat


def test_an_empty_element_is_empty_not_null():
    """evtx renders an empty UserData element as null and an empty <Data> as "": the same XML, both ''."""
    cleared, _ = shaped_event(event("eventlog_cleared_104_taskscheduler.json"))
    assert cleared["BackupPath"] == ""
    firewall, _ = shaped_event(event("firewall_2004_any_rule_by_mmc.json"))
    assert firewall["ApplicationPath"] == ""
    absent, _ = shaped_event(event("firewall_2004_without_application_path.json"))
    assert "ApplicationPath" not in absent


def test_system_attributes_are_tag_underscore_attribute():
    flat, _ = shaped_event(event("eventlog_cleared_104_system.json"))
    assert flat["Provider_Guid"] == "FC65DDD8-D6EF-4962-83D5-6E5CFE9CE148"
    assert flat["Security_UserID"] == "S-1-5-21-3623811015-3361044348-30300820-1013"
    assert (flat["Execution_ProcessID"], flat["Execution_ThreadID"]) == (1340, 5400)
    assert flat["TimeCreated"] == flat["TimeCreated_SystemTime"] == "2025-06-02T09:14:07.512344Z"
    assert flat["EventRecordID"] == 21907 and flat["Computer"] == "ws01.corp.example"


def test_the_record_identity_stays_the_headers():
    """A data element named EventID does not make a rule's `EventID: 2004` read it: it is read by its path."""
    data = event("firewall_2004_any_rule_by_mmc.json")
    data["Event"]["EventData"]["EventID"] = 7
    data["Event"]["EventData"]["Channel"] = "inner"
    flat, _ = shaped_event(data)
    assert flat["EventID"] == 2004 and flat["EventData.EventID"] == 7
    assert flat["Channel"] == "inner" and flat["System.Channel"].endswith("/Firewall")


def test_the_list_rendering_of_data_reads_as_the_named_one():
    """Tools that render each <Data Name="X"> as {"#attributes": {"Name": "X"}, "#text": ...} give the same fields."""
    named = event("firewall_2004_any_rule_by_mmc.json")
    listed = copy.deepcopy(named)
    listed["Event"]["EventData"] = {
        "Data": [
            {"#attributes": {"Name": key}, **({"#text": value} if value != "" else {})}
            for key, value in named["Event"]["EventData"].items()
        ]
    }
    assert shaped_event(listed) == shaped_event(named)


@pytest.mark.parametrize("log", ["system", "taskscheduler"])
def test_ecs_reads_the_cleared_log_as_the_windows_rendering_does(log):
    """Winlogbeat keeps the header in winlog.channel and UserData in winlog.user_data."""
    flat, shape = shaped_event(event(f"ecs_eventlog_cleared_104_{log}.json"))
    rendered, _ = shaped_event(event(f"eventlog_cleared_104_{log}.json"))
    assert shape == "ecs"
    assert flat["Channel"] == rendered["Channel"] == (TASKS if log == "taskscheduler" else "System")
    assert flat.get("System.Channel") == rendered.get("System.Channel")
    assert record_fields(flat)["Channel"] == "System" and flat["EventID"] == "104"
    assert flat["SubjectUserName"] == "jdoe"


def test_sigmahqs_user_data_event_reads_its_fields_by_name_and_path(corpus_dir):
    folder = corpus_dir / "regression_data/rules/windows/builtin/wmi/win_wmi_activity_nteventlogfile_cleareventlog"
    flat, _ = shaped_event(json.loads(next(folder.glob("*.json")).read_text(encoding="utf-8")))
    assert flat["Channel"] == "Microsoft-Windows-WMI-Activity/Operational" and "System.Channel" not in flat
    assert flat["Operation"].endswith("::cleareventlog")
    assert flat["Operation_ClientFailure.User"] == flat["User"] == "swachchhanda\\xodih"
    assert flat["Execution_ProcessID"] == 3092 and flat["Security_UserID"] == "S-1-5-18"
