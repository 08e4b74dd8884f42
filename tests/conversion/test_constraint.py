"""Which queries search every event (catalog.conversion.constraint), the defaults that avoid it, and the
Sentinel targets that pick a table per log source (catalog.conversion.known)."""

import textwrap

import pytest
from django.utils.html import escape
from sigma.collection import SigmaCollection
from sigma.plugins import InstalledSigmaPlugins

from catalog.conversion.constraint import unconstrained
from catalog.conversion.converter import choose, convert
from catalog.conversion.sources import read_rules
from catalog.core.sigma.loading import Limits
from tests.constants import CERTUTIL_ID, SSH_ID

PROCESS = """
title: Net
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\\net.exe'}
  condition: sel
"""
SECURITY = """
title: RDP logon
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624, LogonType: 10}
  condition: sel
"""
LINUX = """
title: Bash
logsource: {product: linux, category: process_creation}
detection:
  sel: {Image|endswith: '/bash'}
  condition: sel
"""


def rule_of(detection: str, logsource: str = "{product: linux, service: syslog}") -> str:
    return f"title: t\nlogsource: {logsource}\ndetection:\n" + textwrap.indent(textwrap.dedent(detection), "  ")


def converted(text: str, target: str, pipeline: str | None = None):
    return convert(read_rules(text, Limits()).rules, choose(target, pipeline))


def pysigma(text: str, backend: str, pipeline: str) -> str:
    plugins = InstalledSigmaPlugins.autodiscover()
    resolved = plugins.get_pipeline_resolver().resolve(pipeline.split(","))
    return "\n".join(plugins.backends[backend](processing_pipeline=resolved).convert(SigmaCollection.from_yaml(text)))


@pytest.mark.parametrize(
    ("text", "target", "pipeline", "expected"),
    [
        # The defaults name Sysmon's channel and event, or the service's channel, or a table.
        (PROCESS, "splunk", None, False),
        (PROCESS, "lucene", None, False),
        (PROCESS, "esql", None, False),
        (PROCESS, "eql", None, False),
        (SECURITY, "splunk", None, False),
        (SECURITY, "lucene", None, False),
        (PROCESS, "kusto", None, False),
        (PROCESS, "sentinel_asim", None, False),
        # splunk_windows alone names a source for services only; no pipeline names nothing.
        (PROCESS, "splunk", "splunk_windows", True),
        (PROCESS, "lucene", "ecs_windows", True),
        (SECURITY, "splunk", "none", False),  # the rule's own EventID narrows it
        (PROCESS, "kusto", "none", True),  # KQL without a table
        (LINUX, "splunk", None, True),  # no pinned pipeline maps Linux to a source
        (LINUX, "esql", None, True),
    ],
)
def test_conversions_say_whether_they_search_every_event(text, target, pipeline, expected):
    result = converted(text, target, pipeline)
    assert result.query is not None and result.unconstrained is expected, (result.query, result.errors)
    assert result.as_dict()["unconstrained"] is expected


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ("sel: {EventID: 4624}\ncondition: sel", False),
        ("sel: {EventID: 4624}\nother: {Image: x}\ncondition: sel and other", False),
        ("sel: {EventID: [4624, 4625]}\ncondition: sel", False),  # an `or` of constraints constrains
        ("sel: {EventID: 4624}\nother: {Image: x}\ncondition: sel or other", True),  # `or` something else
        ("sel: {EventID: 4624}\nother: {Image: x}\ncondition: other and not sel", True),  # a `not`
        ("sel: {Channel: '*'}\ncondition: sel", True),  # anything at all
        ("sel: {Channel: null}\nother: {Image: x}\ncondition: sel and other", True),  # a null
        ("sel: {source|re: 'Win.*'}\ncondition: sel", True),  # a regular expression is not judged
        ("sel: {sourcetype: 'linux:audit'}\nother: {Image: x}\ncondition: other and sel", False),
    ],
)
def test_a_constraint_is_a_condition_every_match_satisfies(detection, expected):
    result = converted(rule_of(detection), "splunk", "none")
    assert result.unconstrained is expected, result.query


def test_text_judgements_of_kql_esql_and_eql():
    assert unconstrained("sentinel", "kusto", "default", [], ['Image endswith "x"']) is True
    assert unconstrained("sentinel", "kusto", "default", [], ['imProcessCreate\n| where x == "y"']) is False
    assert unconstrained("elastic", "esql", "default", [], ["from logs-windows* metadata _id | where x"]) is False
    assert unconstrained("elastic", "eql", "default", [], ['process where process.name == "x"']) is False
    assert (
        unconstrained("splunk", "splunk", "data_model", [], ["| tstats count from datamodel=Endpoint.Processes"])
        is False
    )
    assert unconstrained("other", "loki", "default", [], ["{job=~'.+'}"]) is None  # not judged
    assert unconstrained("splunk", "splunk", "default", [], []) is None  # no query


def test_sentinel_reads_securityevent_for_the_security_log_and_xdr_tables_otherwise():
    security = converted(SECURITY, "sentinel")
    assert security.pipeline == "azure_monitor" and security.query.startswith("SecurityEvent\n")
    assert security.query == pysigma(SECURITY, "kusto", "azure_monitor")  # pySigma's own, byte for byte
    process = converted(PROCESS, "sentinel")
    assert process.pipeline == "microsoft_xdr" and process.query == pysigma(PROCESS, "kusto", "microsoft_xdr")
    # Defender XDR alone reads its sensor's logon table; a pipeline asked for is used for every rule.
    assert converted(SECURITY, "kusto").query.startswith("DeviceLogonEvents\n")
    assert converted(SECURITY, "sentinel", "microsoft_xdr,").pipeline == "azure_monitor"  # the default, spelt so
    assert converted(SECURITY, "sentinel", "sentinel_asim").pipeline == "sentinel_asim"
    assert converted(PROCESS, "sentinel_securityevent").query == pysigma(PROCESS, "kusto", "azure_monitor")


# -- the rule page and the API -----------------------------------------------------------------------------
def test_a_query_that_searches_every_event_says_so_on_the_page_and_in_the_api(client, example_rules):
    linux = client.get(f"/api/rules/{SSH_ID}/query/").json()
    assert linux["query"] and linux["unconstrained"] is True
    page = client.get(f"/rules/{SSH_ID}/").content.decode()
    assert "Searches every event." in page and escape("a source, sourcetype, index, EventCode or Channel") in page
    table = client.get(f"/api/rules/{SSH_ID}/query/?target=kusto").json()
    assert table["query"].startswith("DeviceProcessEvents") and table["unconstrained"] is False
    windows = client.get(f"/rules/{CERTUTIL_ID}/").content.decode()
    assert "Searches every event." not in windows
    assert "source=&quot;WinEventLog:Microsoft-Windows-Sysmon/Operational&quot; EventCode=1" in windows
    # The default set of pipelines is one choice of the picker, selected.
    assert '<option value="sysmon,splunk_windows" selected>sysmon,splunk_windows — the default</option>' in windows


def test_the_page_names_the_tables_a_target_reads_and_a_routed_pipeline(client, example_rules):
    from catalog.models import Rule

    security = Rule.objects.get(uuid="300f1c4c-d68b-4eba-a123-2cf30ca0e4fa")  # Security 4688, an injection host
    page = client.get(f"/rules/{security.uuid}/?target=sentinel").content.decode()
    assert "for rules of the Windows Security log" in page  # the target's description
    assert "converts rules of this log source with the pipeline azure_monitor, not microsoft_xdr" in page
    answer = client.get(f"/api/rules/{security.uuid}/query/?target=sentinel").json()
    assert answer["pipeline"] == "azure_monitor" and answer["query"].startswith("SecurityEvent\n")
    assert answer["query"] == pysigma(security.yaml_text, "kusto", "azure_monitor")
    xdr = client.get(f"/api/rules/{security.uuid}/query/?target=kusto").json()  # Defender XDR: no such fields
    assert xdr["query"] is None and "NewProcessName" in xdr["errors"][0]
