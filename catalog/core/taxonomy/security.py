"""The Security-log events that can back a Windows category, beyond what pySigma's pipelines say.

Hand-written from Microsoft's security auditing reference (docs.microsoft.com, "Audit ... events"):

* SECURITY_SCHEMAS: the fields of each Security event the taxonomy uses. A Sigma field is carried by
  a Security event when it is, or is renamed to, a field of the event's schema.
* HAND_MAPPINGS: renames no pySigma pipeline gives: 5156 (network_connection: Application,
  SourceAddress, DestAddress...) and 4663 (file_event: ObjectName, ProcessName). The Kusto pipelines'
  EventID table (kusto_common.mappings.EVENTID_CATEGORIES) files 5156 under "network" and 4663 under "file".
* HAND_CATEGORIES: the categories those events back, with the condition an event must meet to back
  it: 4657 logs value deletions as OperationType "Registry value deleted" (registry_delete).
* OPERATION_CODES: the message ids that EVTX renderings write in place of 4657's OperationType text.
* VALUE_CODES: values a Security event logs as a code where the Sigma field (as Sysmon logs it) holds a
  word: 5156's Direction ("%%14593", Outbound) is Sysmon 3's Initiated "true"; its Protocol is the IANA
  protocol number (6) where Sysmon writes "tcp".
"""

# Microsoft's security auditing reference: the fields of each Security event used here.
SECURITY_SCHEMAS: dict[int, frozenset[str]] = {
    4688: frozenset(
        [
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "NewProcessId",
            "NewProcessName",
            "TokenElevationType",
            "ProcessId",
            "CommandLine",
            "TargetUserSid",
            "TargetUserName",
            "TargetDomainName",
            "TargetLogonId",
            "ParentProcessName",
            "MandatoryLabel",
        ]
    ),
    4657: frozenset(
        [
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "ObjectName",
            "ObjectValueName",
            "HandleId",
            "OperationType",
            "OldValueType",
            "OldValue",
            "NewValueType",
            "NewValue",
            "ProcessId",
            "ProcessName",
        ]
    ),
    5156: frozenset(
        [
            "ProcessID",
            "Application",
            "Direction",
            "SourceAddress",
            "SourcePort",
            "DestAddress",
            "DestPort",
            "Protocol",
            "FilterRTID",
            "LayerName",
            "LayerRTID",
            "RemoteUserID",
            "RemoteMachineID",
        ]
    ),
    4663: frozenset(
        [
            "SubjectUserSid",
            "SubjectUserName",
            "SubjectDomainName",
            "SubjectLogonId",
            "ObjectServer",
            "ObjectType",
            "ObjectName",
            "HandleId",
            "AccessList",
            "AccessMask",
            "ProcessId",
            "ProcessName",
            "ResourceAttributes",
        ]
    ),
}
# Renames with no pySigma source (see the module docstring), Sigma field -> event field.
HAND_MAPPINGS: dict[int, dict[str, str]] = {
    5156: {
        "Image": "Application",
        "ProcessId": "ProcessID",
        "SourceIp": "SourceAddress",
        "SourcePort": "SourcePort",
        "DestinationIp": "DestAddress",
        "DestinationPort": "DestPort",
        "Protocol": "Protocol",
        "Initiated": "Direction",
    },
    4663: {"TargetFilename": "ObjectName", "Image": "ProcessName"},
}
# Category -> (Security event id, conditions besides EventID), as pySigma's audit pipeline writes them.
HAND_CATEGORIES: dict[str, tuple[int, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "network_connection": (5156, ()),
    "file_event": (4663, ()),
    "registry_delete": (4657, (("OperationType", ("Registry value deleted",)),)),
}
# 4657's OperationType as the raw event data holds it (a message id) -> the rendered text the pipeline uses.
OPERATION_CODES: dict[str, str] = {
    "%%1904": "New registry value created",
    "%%1905": "Existing registry value modified",
    "%%1906": "Registry value deleted",
}
# Event id -> {Sigma field: {event value (casefolded): the value as the Sigma field holds it}}.
VALUE_CODES: dict[int, dict[str, dict[str, str]]] = {
    5156: {
        "Initiated": {"%%14593": "true", "outbound": "true", "%%14592": "false", "inbound": "false"},
        "Protocol": {"1": "icmp", "6": "tcp", "17": "udp"},
    },
}
