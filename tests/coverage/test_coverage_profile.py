"""Telemetry profiles (catalog.coverage.profile) and the event/field mapping (catalog.core.taxonomy).

No database. The field sets expected of Security events are written here from Microsoft's event
schemas, independently of the pySigma pipelines the app reads them from.
"""

import json

import pytest
from django.http import QueryDict

from catalog.core import taxonomy
from catalog.coverage.profile import ProfileError, from_json, from_query, from_sysmon_config, parse
from tests.constants import CORPUS, ROOT

# Sigma process_creation fields with a counterpart in Security 4688 (Microsoft's 4688 schema:
# NewProcessName, ParentProcessName, CommandLine, SubjectLogonId, SubjectUserName, NewProcessId).
ON_4688 = {"commandline", "image", "parentimage", "logonid", "user", "processid"}


def test_url_tokens_are_parsed_joined_and_written_back_canonically():
    profile = from_query(QueryDict("events=sysmon:3,Sysmon:1&events=security:4688&logsources=linux::auditd,aws"))
    assert profile.events == {("sysmon", 1), ("sysmon", 3), ("security", 4688)}
    assert profile.logsources == (("aws", None, None), ("linux", "", "auditd"))
    assert profile.params() == {"events": "security:4688,sysmon:1,sysmon:3", "logsources": "aws:*:*,linux::auditd"}
    assert parse(profile.params()["events"], profile.params()["logsources"]) == profile


def test_whole_channel_and_log_source_patterns():
    profile = parse("system:*", ":proxy,linux::auditd")
    assert profile.collects_event("system", 7045) and profile.collects_event("system", None)
    assert not profile.collects_event("security", 4624)
    assert profile.collects_logsource("", "proxy", "")
    assert profile.collects_logsource("linux", "", "auditd")
    assert not profile.collects_logsource("linux", "process_creation", "")
    assert not profile.collects_logsource("windows", "proxy", "")  # empty product means: the rule names none


@pytest.mark.parametrize(
    "events,logsources,message",
    [
        ("sysmon", "", "provider:event_id"),
        ("sysmon:one", "", "number or *"),
        ("", "a:b:c:d", "product:category:service"),
        ("sysmon:1\x00", "", "NUL"),
        (",".join(f"sysmon:{i}" for i in range(501)), "", "at most 500"),
    ],
)
def test_bad_tokens_say_what_is_wrong(events, logsources, message):
    with pytest.raises(ProfileError, match=message):
        parse(events, logsources)


SYSMON_CONFIG = """<Sysmon schemaversion="4.90">
  <HashAlgorithms>sha256</HashAlgorithms>
  <EventFiltering>
    <RuleGroup name="" groupRelation="or"><ProcessCreate onmatch="exclude"/></RuleGroup>
    <RuleGroup name="" groupRelation="or"><NetworkConnect onmatch="include">
      <Image condition="end with">\\powershell.exe</Image></NetworkConnect></RuleGroup>
    <RuleGroup name="" groupRelation="or"><ProcessAccess onmatch="include"/></RuleGroup>
    <RuleGroup name="" groupRelation="or"><RegistryEvent onmatch="exclude">
      <TargetObject condition="contains">\\Foo</TargetObject></RegistryEvent></RuleGroup>
  </EventFiltering>
</Sysmon>"""


def test_a_sysmon_config_logs_excluded_and_non_empty_included_event_types():
    events = {event_id for _, event_id in from_sysmon_config(SYSMON_CONFIG).events}
    # exclude -> logged; include with a condition -> logged; empty include (ProcessAccess, 10) -> not logged.
    assert events == {1, 3, 12, 13, 14, 4, 16, 255}


def test_a_posted_profile_merges_its_sysmon_config():
    profile = from_json({"events": ["security:4688"], "sysmon_config": SYSMON_CONFIG})
    assert ("security", 4688) in profile.events and ("sysmon", 1) in profile.events
    with pytest.raises(ProfileError, match="Unknown member"):
        from_json({"event": ["sysmon:1"]})
    with pytest.raises(ProfileError, match="DOCTYPE"):
        from_sysmon_config('<!DOCTYPE x [<!ENTITY a "b">]><Sysmon/>')
    with pytest.raises(ProfileError, match="line 1"):
        from_sysmon_config("<Sysmon><EventFiltering></Sysmon>")


def _ways(category):
    return {s.token: s for s in taxonomy.category_sources()[category]}


def test_security_log_equivalents_of_sysmon_categories():
    assert {"sysmon:1", "security:4688"} <= set(_ways("process_creation"))
    assert {"sysmon:3", "security:5156"} <= set(_ways("network_connection"))
    for category, sysmon in (
        ("registry_set", "sysmon:13"),
        ("registry_add", "sysmon:12"),
        ("registry_event", "sysmon:14"),
    ):
        assert {sysmon, "security:4657"} <= set(_ways(category))
    assert {"powershell:4104"} <= set(_ways("ps_script"))


def test_4688_carries_only_the_fields_its_schema_has():
    carried = _ways("process_creation")["security:4688"].fields
    process_creation = {f.casefold() for f in _logsource_json()["legit"]["windows"]["category"]["process_creation"]}
    assert carried & process_creation == ON_4688
    assert "originalfilename" not in carried and "hashes" not in carried


def test_sysmon_events_carry_the_fields_sigmahq_lists():
    data = _logsource_json()["legit"]["windows"]["category"]
    for category, token in (
        ("process_creation", "sysmon:1"),
        ("process_access", "sysmon:10"),
        ("dns_query", "sysmon:22"),
    ):
        assert {f.casefold() for f in data[category]} <= _ways(category)[token].fields


def _logsource_json():
    path = CORPUS / "tests" / "logsource.json"
    if not path.exists():
        pytest.skip(f"needs {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def test_reading_the_mapping_leaves_pysigma_plugin_discovery_intact():
    """pySigma 1.5 files its test pipeline under "sysmon" if sigma.pipelines.sysmon is imported before
    its first discovery; the taxonomy runs the process's one discovery first (fresh process)."""
    import subprocess
    import sys

    code = (
        "from catalog.core import taxonomy; taxonomy.category_sources()\n"
        "from catalog.conversion.targets import registry\n"
        "print(registry().pipelines['sysmon'].name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "Generic Log Sources to Sysmon Transformation"
