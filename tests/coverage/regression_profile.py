"""Writes tests/coverage/regression_profile.json: the telemetry SigmaHQ's regression events show, read by hand.

    .venv/bin/python tests/coverage/regression_profile.py   # after a new SigmaHQ snapshot

Independent of the catalog's readers on purpose (tests/coverage/test_inferred_profile.py compares the two): it
reads the JSON renderings with the json module alone, where the catalog reads the .evtx files beside them with
pyevtx-rs. Per Windows event: the channel (System.Channel) and event id (System.EventID), the service a Sigma rule
names that channel by (the hand table below, from Sigma's Windows log source table), how many records, and the
fields that at least one record fills (a value neither null, nor blank, nor an empty list), named as the Sigma
specification's Windows field usage names them: System elements by their tag and their attributes as
Tag_Attribute (Version, Execution_ProcessID), EventData by its own names (Defender's "Threat Name" is written
ThreatName by Sigma: both are listed), UserData by each element's own name and its path under UserData.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGRESSION = (ROOT.parent / "shared" / "corpus" / "sigmahq" / "regression_data").resolve()
FIXTURE = Path(__file__).with_name("regression_profile.json")
SERVICES = {  # channel -> the Windows service Sigma rules name it by
    "Microsoft-Windows-Sysmon/Operational": "sysmon",
    "Security": "security",
    "Microsoft-Windows-TaskScheduler/Operational": "taskscheduler",
    "Microsoft-Windows-WMI-Activity/Operational": "wmi",
    "Microsoft-Windows-Windows Defender/Operational": "windefend",
}


def objects(text: str):
    decoder, position = json.JSONDecoder(), 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return
        value, position = decoder.raw_decode(text, position)
        yield from value if isinstance(value, list) else [value]


def filled(value) -> bool:
    if value is None or isinstance(value, list | dict) and not value:
        return False
    return not isinstance(value, str) or bool(value.strip())


def leaves(data: dict, path: str = ""):
    for name, value in data.items():
        if name.startswith("#"):
            continue
        if isinstance(value, dict):
            yield from leaves(value, f"{path}{name}.")
        else:
            yield name, f"{path}{name}", value


def system_fields(system: dict):
    for tag, value in system.items():
        if isinstance(value, dict):
            for attribute, inner in (value.get("#attributes") or {}).items():
                yield f"{tag}_{attribute}", inner
        else:
            yield tag, value


def derive() -> dict:
    events: dict[tuple[str, int], dict] = {}
    for path in sorted(REGRESSION.rglob("*.json")):
        for record in objects(path.read_text(encoding="utf-8")):
            event = record["Event"]
            channel, event_id = event["System"]["Channel"], int(event["System"]["EventID"])
            new = {"channel": channel, "provider": SERVICES[channel], "event_id": event_id, "records": 0}
            row = events.setdefault((channel, event_id), {**new, "fields": set()})
            row["records"] += 1
            row["fields"] |= {name for name, value in system_fields(event["System"]) if filled(value)}
            for name, value in (event.get("EventData") or {}).items():
                if filled(value):
                    row["fields"] |= {name, name.replace(" ", "")}
            for name, dotted, value in leaves(event.get("UserData") or {}):
                if filled(value):
                    row["fields"] |= {name, dotted}
    rows = [{**row, "fields": sorted(row["fields"])} for _, row in sorted(events.items())]
    return {"source": "SigmaHQ regression_data, the .json files", "events": rows}


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(derive(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE}")
