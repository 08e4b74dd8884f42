"""A telemetry profile read from a sample of logs (issue 23, part 4): catalog.coverage.sample, .inferred and the
`unfilled` part of catalog.coverage.profile.

Done when the coverage of the profile inferred from SigmaHQ's regression events (their .evtx files, read by the
catalog's EVTX reader) equals the coverage of the profile written out by hand from the same events
(tests/coverage/regression_profile.json, which tests/coverage/regression_profile.py derives from the JSON
renderings beside them with the json module alone): the same runnable rules, the same rules runnable with missing
fields, each missing the same fields.
"""

import json
from pathlib import Path

import pytest

from catalog.core.sigma.event_files import FileLimits
from catalog.core.sigma.logged_events import EventLimits
from catalog.coverage.inferred import inferred_profile, profile_from_fields, report
from catalog.coverage.profile import ProfileError, from_json, parse
from catalog.coverage.runnable import NONE, PARTIAL, RUNNABLE, class_rules, profile_coverage
from catalog.coverage.sample import read_sample
from catalog.models.telemetry import RuleNeed
from tests.constants import CERTUTIL_ID

LIMITS = FileLimits(10**9, 10**9, EventLimits())
FIXTURE = Path(__file__).with_name("regression_profile.json")
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def windows_event(channel: str, event_id: int, **data) -> dict:
    return {"Event": {"System": {"Channel": channel, "EventID": event_id, "Computer": "pc1"}, "EventData": data}}


def write_lines(path: Path, events) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return path


def certutil_launches():
    """Three Sysmon 1 records: OriginalFileName present but always empty, CurrentDirectory in two of them."""
    return [
        windows_event(SYSMON, 1, Image=r"C:\Windows\System32\certutil.exe", CommandLine="certutil -urlcache http://x",
                      OriginalFileName="", CurrentDirectory="C:\\"),
        windows_event(SYSMON, 1, Image=r"C:\Windows\explorer.exe", CommandLine="explorer", OriginalFileName=" ",
                      CurrentDirectory="C:\\"),
        windows_event(SYSMON, 1, Image=r"C:\Windows\System32\cmd.exe", CommandLine="cmd", OriginalFileName=None),
    ]  # fmt: skip


def rule_class(result, uuid: str):
    """(class, the fields it misses, its gaps per collected event) of one rule in a coverage result."""
    signature_id = RuleNeed.objects.get(rule__uuid=uuid).signature_id
    signature = next(s for s in result.signatures if s.pk == signature_id)
    return signature.status, signature.missing, signature.gaps


# -- the profile's `unfilled` tokens ----------------------------------------------------------------------------
def test_unfilled_tokens_are_read_written_back_and_kept_only_for_collected_events():
    profile = parse("sysmon:1,security:4688", "", "Sysmon:1:ParentUser, security:4688:newprocessname,sysmon:3:image")
    assert profile.unfilled == {("sysmon", 1, "parentuser"), ("security", 4688, "newprocessname")}  # sysmon:3 dropped
    assert profile.unfilled_tokens == ["security:4688:newprocessname", "sysmon:1:parentuser"]
    assert "unfilled=security%3A4688%3Anewprocessname%2Csysmon%3A1%3Aparentuser" in profile.query()
    assert parse(*(profile.params().get(n) for n in ("events", "logsources", "unfilled"))) == profile
    assert profile.adding("sysmon:3").unfilled == profile.unfilled  # adding an event keeps what is known of fields
    assert parse("sysmon:*", "", "sysmon:3:image").unfilled == {("sysmon", 3, "image")}  # a whole channel collects it
    assert from_json({"events": ["windefend:1119"], "unfilled": ["windefend:1119:threat name"]}).unfilled == {
        ("windefend", 1119, "threat name")  # a Defender field's name has spaces
    }


@pytest.mark.parametrize(
    "token, message",
    [
        ("sysmon:one:image", "write provider:event_id:field"),
        ("sysmon:1", "write provider:event_id:field"),
        ("sysmon:1:", "write provider:event_id:field"),
        ("Sys mon!:1:image", "write provider:event_id"),
        ("sysmon:1:ima\x00ge", "NUL byte"),
    ],
)
def test_bad_unfilled_tokens_say_what_is_wrong(token, message):
    with pytest.raises(ProfileError, match=message):
        parse("sysmon:1", "", token)


# -- reading a sample -------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_sample_gives_events_presence_rates_and_the_fields_never_filled(tmp_path, example_rules):
    others = [
        {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "eu-west-1"},
        {"hello": "world"},
        {"Event": {"System": {"Channel": "Security"}, "EventData": {"X": "1"}}},  # no EventID
    ]
    path = write_lines(tmp_path / "sample.jsonl", [*certutil_launches(), *others])
    sample = read_sample([(path, "sample.jsonl", None)], LIMITS, 100)
    assert sample.records == 6 and not sample.truncated
    seen = sample.events["sysmon", 1]
    assert seen.records == 3
    assert (seen.present["originalfilename"], seen.filled["originalfilename"]) == (3, 0)  # "", " " and null
    assert seen.rate("currentdirectory") == pytest.approx(2 / 3)
    assert seen.rate("commandline") == 1.0
    assert list(sample.logsources) == [("aws", None, "cloudtrail")]
    assert sorted(sample.unknown.values()) == [1, 1]

    profile = inferred_profile(sample)
    assert profile.events == {("sysmon", 1)}
    assert profile.logsources == (("aws", None, "cloudtrail"),)
    assert ("sysmon", 1, "originalfilename") in profile.unfilled
    assert ("sysmon", 1, "parentuser") in profile.unfilled  # logsource.json's process_creation field, absent here
    assert not {("sysmon", 1, f) for f in ("image", "commandline", "currentdirectory")} & profile.unfilled
    assert not any(field in ("eventid", "channel", "computer") for *_, field in profile.unfilled)  # common fields

    reading = report(sample, profile)
    event = reading["events"][0]
    assert event["event"] == "sysmon:1" and event["records"] == 3
    assert "OriginalFileName" in event["never_filled"] and "ParentUser" in event["never_filled"]
    rates = {row["field"]: (row["present"], row["filled"]) for row in event["fields"]}
    assert rates["OriginalFileName"] == (1.0, 0.0)
    assert rates["CurrentDirectory"] == (0.6667, 0.6667)
    assert rates["ParentUser"] == (0.0, 0.0)  # expected of Sysmon 1, absent from the sample
    assert [row["records"] for row in reading["not_placed"]] == [1, 1]


def test_reading_stops_at_the_cap_and_nul_characters_are_dropped(tmp_path):
    events = [windows_event(SYSMON, 1, **{"Command\x00Line": "a\x00b"}) for _ in range(5)]
    path = write_lines(tmp_path / "nul.jsonl", events)
    sample = read_sample([(path, "nul.jsonl", None), (path, "again.jsonl", None)], LIMITS, 3)
    assert sample.records == 3 and sample.truncated
    assert sample.files == [("nul.jsonl", 3), ("again.jsonl", 0)]
    assert sample.events["sysmon", 1].names["commandline"] == "CommandLine"


# -- coverage of an inferred profile ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_field_never_filled_makes_the_rules_reading_it_runnable_with_that_field_missing(tmp_path, example_rules):
    sample = read_sample([(write_lines(tmp_path / "s.jsonl", certutil_launches()), "s.jsonl", None)], LIMITS, 100)
    profile = inferred_profile(sample)
    assert rule_class(profile_coverage(parse("sysmon:1")), CERTUTIL_ID)[0] == RUNNABLE  # declared: runs fully
    status, missing, gaps = rule_class(profile_coverage(profile), CERTUTIL_ID)
    assert (status, missing, gaps) == (PARTIAL, ("OriginalFileName",), {"sysmon:1": ("OriginalFileName",)})
    assert example_rules.get(uuid=CERTUTIL_ID) in class_rules(profile_coverage(profile), PARTIAL)


@pytest.mark.django_db
def test_a_mapped_event_lacks_the_sigma_field_its_unfilled_own_field_stands_for(example_rules):
    """Security 4688 carries Image as NewProcessName: a sample whose 4688s never fill it runs the rule without Image."""
    known = rule_class(profile_coverage(parse("security:4688")), CERTUTIL_ID)
    assert known == (PARTIAL, ("OriginalFileName",), {"security:4688": ("OriginalFileName",)})  # the taxonomy's gap
    profile = profile_from_fields({("security", 4688): {"CommandLine", "ParentProcessName"}})
    assert ("security", 4688, "newprocessname") in profile.unfilled
    assert ("security", 4688, "image") not in profile.unfilled  # the event's own name, not the rule's
    status, missing, _ = rule_class(profile_coverage(profile), CERTUTIL_ID)
    assert status == PARTIAL and set(missing) == {"OriginalFileName", "Image"}


@pytest.mark.django_db
def test_an_event_filling_every_field_leaves_coverage_as_declared(example_rules):
    declared = profile_coverage(parse("sysmon:1,security:4688"))
    nothing = profile_from_fields({("sysmon", 1): set(), ("security", 4688): set()})
    everything = {field for *_, field in nothing.unfilled}
    assert {"originalfilename", "parentimage", "newprocessname"} <= everything
    full = profile_from_fields({("sysmon", 1): everything, ("security", 4688): everything})
    assert full.unfilled == frozenset()
    inferred = profile_coverage(full)
    assert [(s.pk, s.status, s.missing) for s in inferred.signatures] == [
        (s.pk, s.status, s.missing) for s in declared.signatures
    ]


# -- done when: SigmaHQ's regression events, inferred and written out by hand ------------------------------------
def hand_written_profile():
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))["events"]
    return {(row["provider"], row["event_id"]): row for row in rows}


@pytest.mark.one_database  # a whole-corpus computation that only reads rules
@pytest.mark.django_db
def test_the_profile_inferred_from_regression_evtx_has_the_coverage_of_the_hand_written_one(corpus, corpus_dir):
    files = [(path, path.name, None) for path in sorted((corpus_dir / "regression_data").rglob("*.evtx"))]
    assert len(files) >= 150
    sample = read_sample(files, LIMITS, 10**6)
    hand = hand_written_profile()
    assert {key: seen.records for key, seen in sample.events.items()} == {k: row["records"] for k, row in hand.items()}
    assert not sample.logsources and not sample.unknown

    inferred = inferred_profile(sample)
    written = profile_from_fields({key: set(row["fields"]) for key, row in hand.items()})
    assert inferred.events == written.events
    by_hand, by_sample = profile_coverage(written), profile_coverage(inferred)
    assert by_sample.counts == by_hand.counts
    for status in (RUNNABLE, PARTIAL):  # the same rules, each missing the same fields through the same events
        assert set(class_rules(by_sample, status).values_list("uuid", flat=True)) == set(
            class_rules(by_hand, status).values_list("uuid", flat=True)
        )
    assert {s.pk: (s.status, s.missing, s.gaps) for s in by_sample.signatures} == {
        s.pk: (s.status, s.missing, s.gaps) for s in by_hand.signatures
    }
    assert inferred.unfilled == written.unfilled

    # The sample's fields matter: rules the same events run fully when nothing is known of fields run without some.
    declared = profile_coverage(parse(",".join(inferred.event_tokens)))
    assert by_sample.counts[NONE] == declared.counts[NONE]
    assert by_sample.counts[PARTIAL] > declared.counts[PARTIAL] == 0
    missing = {name for s in by_sample.of_class(PARTIAL) for name in s.missing}
    assert "GrandParentImage" in missing  # a process_creation field of logsource.json that no Sysmon 1 logs
    assert ("sysmon", 12, "details") in inferred.unfilled  # Sysmon 12 (a key created or deleted) has no Details
