"""SigmaHQ's regression .evtx files, read as an uploaded file is (pyevtx-rs, catalog.core.sigma.event_files), each
fire the rule their info.yml names, with the whole SigmaHQ catalog matching (tests/matching/test_evaluate.py does
the same for the JSON renderings beside them, which tools trimmed: the EVTX values keep trailing spaces).

The hand-written events of tests/matching/events/ pin the cases SigmaHQ's regression data has none of
(tests/matching/test_field_values.py).
"""

import yaml

from catalog.core.sigma import event_files
from catalog.core.sigma.event_files import FileLimits, read_events
from catalog.core.sigma.logged_events import EventLimits
from catalog.matching.engine import match_events

LIMITS = FileLimits(10**8, 10**4, EventLimits())


def regression_files(corpus_dir) -> list[tuple[str, set[str]]]:
    """(an .evtx file, the rule ids it must fire) for every regression folder."""
    cases = []
    for info in sorted((corpus_dir / "regression_data").rglob("info.yml")):
        meta = yaml.safe_load(info.read_text(encoding="utf-8")) or {}
        ids = {str(rule["id"]) for rule in meta.get("rule_metadata") or []}
        cases.extend((path, ids) for path in sorted(info.parent.glob("*.evtx")))
    return cases


def test_every_regression_evtx_file_fires_its_rule(corpus, corpus_dir, corpus_matcher):
    cases = regression_files(corpus_dir)
    assert len(cases) >= 150
    missed, user_data = [], 0
    for path, ids in cases:
        events = list(read_events(path, path.name, LIMITS))
        fired = {str(rule.uuid) for result in match_events([e.flat for e in events], None) for rule in result.rules}
        if not ids <= fired:
            missed.append((path.parent.name, sorted(ids - fired)))
        user_data += any("System.Channel" in e.flat or "Operation_ClientFailure.User" in e.flat for e in events)
    assert missed == []
    assert user_data == 1  # the WMI-Activity event, whose fields are UserData's (tests/core/test_event_fields.py)


def test_a_record_needing_no_cleaning_reads_as_a_cleaned_one(corpus_dir, monkeypatch):
    """EVTX records whose JSON is ASCII without escapes skip the NUL and surrogate cleaning (event_files._plain):
    every regression event reads the same as when each is cleaned, and both kinds of record occur."""
    paths = sorted((corpus_dir / "regression_data").rglob("*.evtx"))
    fast = [e.flat for path in paths for e in read_events(path, path.name, LIMITS)]
    plain, judged = [], event_files._plain
    monkeypatch.setattr(event_files, "_plain", lambda text: plain.append(judged(text)) or False)
    cleaned = [e.flat for path in paths for e in read_events(path, path.name, LIMITS)]
    assert fast == cleaned and len(fast) == len(plain) >= 150
    assert any(plain) and not all(plain)  # most records are plain; some hold escapes or other scripts


def test_only_ascii_json_without_escapes_is_plain():
    assert event_files._plain('{"Image": "C:\\\\Windows\\\\cmd.exe"}')
    assert not event_files._plain('{"A": "x\\u0000y"}')  # a NUL
    assert not event_files._plain('{"A": "\\ud800"}')  # a lone surrogate
    assert not event_files._plain('{"A": "café"}')  # not ASCII
    assert not event_files._plain('{"A\\u0000": "b"}')  # in a name
