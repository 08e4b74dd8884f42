"""The hand-written tables behind catalog.core.taxonomy: event titles per provider, the Windows services'
channels, the Linux log sources, and the few Windows categories pySigma's pipelines do not list (sources:
catalog.core.taxonomy.events' docstring).

Pure data, no Django import.
"""

# ---------------------------------------------------------------------------
# Event titles per provider
# ---------------------------------------------------------------------------

SYSMON_EVENTS: dict[int, str] = {
    1: "Process creation",
    2: "File creation time changed",
    3: "Network connection detected",
    4: "Sysmon service state changed",
    5: "Process terminated",
    6: "Driver loaded",
    7: "Image loaded",
    8: "CreateRemoteThread detected",
    9: "RawAccessRead detected",
    10: "Process accessed",
    11: "File created",
    12: "Registry object added or deleted",
    13: "Registry value set",
    14: "Registry object renamed",
    15: "File stream created",
    16: "Sysmon config state changed",
    17: "Pipe created",
    18: "Pipe connected",
    19: "WmiEventFilter activity detected",
    20: "WmiEventConsumer activity detected",
    21: "WmiEventConsumerToFilter activity detected",
    22: "DNS query",
    23: "File delete archived",
    24: "Clipboard changed",
    25: "Process tampering",
    26: "File delete logged",
    27: "File block executable",
    28: "File block shredding",
    29: "File executable detected",
    255: "Error",
}

# Sysmon for Linux emits a subset of the Windows Sysmon events, same ids.
SYSMON_FOR_LINUX_EVENTS: dict[int, str] = {
    event_id: SYSMON_EVENTS[event_id] for event_id in (1, 3, 4, 5, 9, 11, 16, 23, 255)
}

SECURITY_EVENTS: dict[int, str] = {
    # Pre-Vista (Windows XP / Server 2003) ids still matched by a few rules.
    517: "The audit log was cleared (legacy)",
    528: "Successful logon (legacy)",
    529: "Logon failure: unknown user name or bad password (legacy)",
    632: "Security-enabled global group member added (legacy)",
    633: "Security-enabled global group member removed (legacy)",
    634: "Security-enabled global group deleted (legacy)",
    675: "Pre-authentication failed (legacy)",
    # Event log service.
    1100: "The event logging service has shut down",
    1102: "The audit log was cleared",
    1104: "The security log is now full",
    # System, logon and logoff.
    4608: "Windows is starting up",
    4610: "An authentication package has been loaded by the Local Security Authority",
    4611: "A trusted logon process has been registered with the Local Security Authority",
    4614: "A notification package has been loaded by the Security Account Manager",
    4616: "The system time was changed",
    4622: "A security package has been loaded by the Local Security Authority",
    4624: "An account was successfully logged on",
    4625: "An account failed to log on",
    4627: "Group membership information",
    4634: "An account was logged off",
    4647: "User initiated logoff",
    4648: "A logon was attempted using explicit credentials",
    4649: "A replay attack was detected",
    # Object access.
    4656: "A handle to an object was requested",
    4657: "A registry value was modified",
    4658: "The handle to an object was closed",
    4660: "An object was deleted",
    4661: "A handle to an object was requested",
    4662: "An operation was performed on an object",
    4663: "An attempt was made to access an object",
    4664: "An attempt was made to create a hard link",
    4670: "Permissions on an object were changed",
    # Privilege use and process tracking.
    4672: "Special privileges assigned to new logon",
    4673: "A privileged service was called",
    4674: "An operation was attempted on a privileged object",
    4688: "A new process has been created",
    4689: "A process has exited",
    4692: "Backup of data protection master key was attempted",
    4693: "Recovery of data protection master key was attempted",
    4697: "A service was installed in the system",
    4698: "A scheduled task was created",
    4699: "A scheduled task was deleted",
    4700: "A scheduled task was enabled",
    4701: "A scheduled task was disabled",
    4702: "A scheduled task was updated",
    # Policy change.
    4703: "A user right was adjusted",
    4704: "A user right was assigned",
    4705: "A user right was removed",
    4706: "A new trust was created to a domain",
    4707: "A trust to a domain was removed",
    4713: "Kerberos policy was changed",
    4715: "The audit policy (SACL) on an object was changed",
    4716: "Trusted domain information was modified",
    4717: "System security access was granted to an account",
    4718: "System security access was removed from an account",
    4719: "System audit policy was changed",
    # Account management.
    4720: "A user account was created",
    4722: "A user account was enabled",
    4723: "An attempt was made to change an account's password",
    4724: "An attempt was made to reset an account's password",
    4725: "A user account was disabled",
    4726: "A user account was deleted",
    4727: "A security-enabled global group was created",
    4728: "A member was added to a security-enabled global group",
    4729: "A member was removed from a security-enabled global group",
    4730: "A security-enabled global group was deleted",
    4731: "A security-enabled local group was created",
    4732: "A member was added to a security-enabled local group",
    4733: "A member was removed from a security-enabled local group",
    4734: "A security-enabled local group was deleted",
    4735: "A security-enabled local group was changed",
    4737: "A security-enabled global group was changed",
    4738: "A user account was changed",
    4739: "Domain Policy was changed",
    4740: "A user account was locked out",
    4741: "A computer account was created",
    4742: "A computer account was changed",
    4743: "A computer account was deleted",
    4754: "A security-enabled universal group was created",
    4755: "A security-enabled universal group was changed",
    4756: "A member was added to a security-enabled universal group",
    4757: "A member was removed from a security-enabled universal group",
    4758: "A security-enabled universal group was deleted",
    4764: "A group's type was changed",
    4765: "SID History was added to an account",
    4766: "An attempt to add SID History to an account failed",
    4767: "A user account was unlocked",
    # Kerberos and credential validation.
    4768: "A Kerberos authentication ticket (TGT) was requested",
    4769: "A Kerberos service ticket was requested",
    4770: "A Kerberos service ticket was renewed",
    4771: "Kerberos pre-authentication failed",
    4772: "A Kerberos authentication ticket request failed",
    4773: "A Kerberos service ticket request failed",
    4774: "An account was mapped for logon",
    4775: "An account could not be mapped for logon",
    4776: "The computer attempted to validate the credentials for an account",
    4777: "The domain controller failed to validate the credentials for an account",
    4778: "A session was reconnected to a Window Station",
    4779: "A session was disconnected from a Window Station",
    4780: "The ACL was set on accounts which are members of administrators groups",
    4781: "The name of an account was changed",
    4782: "The password hash of an account was accessed",
    4793: "The Password Policy Checking API was called",
    4794: "An attempt was made to set the Directory Services Restore Mode administrator password",
    4797: "An attempt was made to query the existence of a blank password for an account",
    4798: "A user's local group membership was enumerated",
    4799: "A security-enabled local group membership was enumerated",
    4800: "The workstation was locked",
    4801: "The workstation was unlocked",
    4802: "The screen saver was invoked",
    4803: "The screen saver was dismissed",
    4825: "A user was denied the access to Remote Desktop",
    4826: "Boot Configuration Data loaded",
    # Certificate Services.
    4886: "Certificate Services received a certificate request",
    4887: "Certificate Services approved a certificate request and issued a certificate",
    4888: "Certificate Services denied a certificate request",
    4898: "Certificate Services loaded a template",
    4899: "A Certificate Services template was updated",
    4900: "Certificate Services template security was updated",
    # Audit configuration and event sources.
    4902: "The Per-user audit policy table was created",
    4904: "An attempt was made to register a security event source",
    4905: "An attempt was made to unregister a security event source",
    4906: "The CrashOnAuditFail value has changed",
    4907: "Auditing settings on object were changed",
    4912: "Per User Audit Policy was changed",
    # Windows Firewall.
    4946: "A change has been made to Windows Firewall exception list: a rule was added",
    4947: "A change has been made to Windows Firewall exception list: a rule was modified",
    4948: "A change has been made to Windows Firewall exception list: a rule was deleted",
    4950: "A Windows Firewall setting has changed",
    4964: "Special groups have been assigned to a new logon",
    5031: "The Windows Firewall Service blocked an application from accepting incoming connections",
    5038: "Code integrity determined that the image hash of a file is not valid",
    # Directory service and file shares.
    5136: "A directory service object was modified",
    5137: "A directory service object was created",
    5138: "A directory service object was undeleted",
    5139: "A directory service object was moved",
    5140: "A network share object was accessed",
    5141: "A directory service object was deleted",
    5142: "A network share object was added",
    5143: "A network share object was modified",
    5144: "A network share object was deleted",
    5145: "A network share object was checked to see whether client can be granted desired access",
    # Windows Filtering Platform.
    5152: "The Windows Filtering Platform blocked a packet",
    5154: "The Windows Filtering Platform has permitted an application or service to listen on a port",
    5156: "The Windows Filtering Platform has permitted a connection",
    5157: "The Windows Filtering Platform has blocked a connection",
    5158: "The Windows Filtering Platform has permitted a bind to a local port",
    5379: "Credential Manager credentials were read",
    5381: "Vault credentials were read",
    5441: "A filter was present when the Windows Filtering Platform Base Filtering Engine started",
    5447: "A Windows Filtering Platform filter has been changed",
    5449: "A Windows Filtering Platform provider context has been changed",
    5712: "A Remote Procedure Call (RPC) was attempted",
    # Code integrity and devices.
    6281: "Code Integrity determined that the page hashes of an image file are not valid",
    6416: "A new external device was recognized by the system",
    6423: "The installation of this device is forbidden by system policy",
    6424: "The installation of this device was allowed, after having previously been forbidden by policy",
}

SYSTEM_EVENTS: dict[int, str] = {
    6: "File system filter loaded (FilterManager)",
    26: "Application popup (Application Popup)",
    104: "The event log was cleared",
    1001: "The computer has rebooted from a bugcheck (BugCheck)",
    1074: "A process initiated a system shutdown or restart",
    5723: "Netlogon session setup failed: no trust account for the computer",
    5805: "Netlogon session setup from a computer failed to authenticate",
    5829: "Netlogon allowed a vulnerable secure channel connection",
    6005: "The Event log service was started",
    6006: "The Event log service was stopped",
    6008: "The previous system shutdown was unexpected",
    6038: "NTLM authentication is being used between clients and this server (LsaSrv)",
    7000: "A service failed to start",
    7009: "A timeout was reached while waiting for a service to connect",
    7023: "A service terminated with an error",
    7034: "A service terminated unexpectedly",
    7036: "A service entered the running or stopped state",
    7040: "The start type of a service was changed",
    7045: "A service was installed in the system",
}

APPLICATION_EVENTS: dict[int, str] = {
    216: "A database location change was detected (ESENT)",
    325: "The database engine created a new database (ESENT)",
    326: "The database engine attached a database (ESENT)",
    327: "The database engine released an attached database (ESENT)",
    524: "The system catalog has been deleted (Windows Backup)",
    1000: "Application crash: faulting application (Application Error)",
    1001: "Fault bucket report (Windows Error Reporting)",
    1033: "Windows Installer installed the product (MsiInstaller)",
    1034: "Windows Installer removed the product (MsiInstaller)",
    1040: "Beginning a Windows Installer transaction (MsiInstaller)",
    1042: "Ending a Windows Installer transaction (MsiInstaller)",
    1511: "Windows cannot find the local profile; logged on with a temporary profile",
    11707: "Product installation completed successfully (MsiInstaller)",
    11724: "Product removal completed successfully (MsiInstaller)",
    15457: "Configuration option changed (MSSQLSERVER)",
    18456: "Login failed (MSSQLSERVER)",
    33205: "SQL Server audit event (MSSQLSERVER)",
}

POWERSHELL_EVENTS: dict[int, str] = {  # Microsoft-Windows-PowerShell/Operational
    4103: "Module logging",
    4104: "Script block logging",
    4105: "Script block invocation started",
    4106: "Script block invocation completed",
    40961: "PowerShell console is starting up",
    40962: "PowerShell console is ready for user input",
    53504: "PowerShell has started an IPC listening thread",
}

WINDOWS_POWERSHELL_EVENTS: dict[int, str] = {  # classic "Windows PowerShell" log
    400: "Engine state changed (start)",
    403: "Engine state changed (stop)",
    600: "Provider started",
    800: "Pipeline execution details",
}

DEFENDER_EVENTS: dict[int, str] = {
    1006: "The antimalware engine found malware or other potentially unwanted software",
    1007: "The antimalware platform performed an action to protect the system",
    1008: "The antimalware platform attempted an action to protect the system and failed",
    1009: "The antimalware platform restored an item from quarantine",
    1013: "The antimalware platform deleted history of malware",
    1015: "The antimalware platform detected suspicious behavior",
    1116: "The antimalware platform detected malware or other potentially unwanted software",
    1117: "The antimalware platform performed an action to protect the system from malware",
    1118: "The antimalware platform failed to take action on malware",
    1119: "The antimalware platform encountered a critical error taking action on malware",
    1121: "An attack surface reduction rule blocked an action",
    1122: "An attack surface reduction rule fired in audit mode",
    3002: "Real-time protection encountered an error and failed",
    3007: "Real-time protection recovered from a failure",
    5001: "Real-time protection is disabled",
    5004: "The real-time protection configuration changed",
    5007: "The antimalware platform configuration changed",
    5008: "The antimalware engine encountered an error and failed",
    5010: "Scanning for malware and other potentially unwanted software is disabled",
    5012: "Scanning for viruses is disabled",
    5013: "Tamper protection blocked a change to Microsoft Defender Antivirus",
    5101: "The antimalware platform is expired",
}

TASK_SCHEDULER_EVENTS: dict[int, str] = {
    100: "Task started",
    102: "Task completed",
    106: "Task registered",
    129: "Created task process",
    140: "Task registration updated",
    141: "Task registration deleted",
    142: "Task disabled",
    200: "Action started",
    201: "Action completed",
}

WMI_ACTIVITY_EVENTS: dict[int, str] = {
    5857: "WMI provider started",
    5858: "WMI operation error",
    5860: "Temporary WMI event subscription registered",
    5861: "Permanent WMI event subscription registered",
}

BITS_CLIENT_EVENTS: dict[int, str] = {
    3: "The BITS service created a new job",
    4: "The transfer job is complete",
    59: "BITS started the transfer job",
    60: "BITS stopped transferring the transfer job",
}

FIREWALL_EVENTS: dict[int, str] = {
    # Older builds use 2002-2033; newer Windows builds log the same actions
    # under the 205x-209x ids.
    2002: "A Windows Firewall setting has changed",
    2003: "A Windows Firewall setting in a profile has changed",
    2004: "A rule has been added to the Windows Firewall exception list",
    2005: "A rule has been modified in the Windows Firewall exception list",
    2006: "A rule has been deleted in the Windows Firewall exception list",
    2008: "Windows Firewall Group Policy settings have changed",
    2009: "The Windows Firewall service failed to load Group Policy",
    2032: "Windows Firewall has been reset to its default configuration",
    2033: "All rules have been deleted from the Windows Firewall configuration",
    2052: "A rule has been deleted in the Windows Firewall exception list",
    2071: "A rule has been added to the Windows Firewall exception list",
    2073: "A rule has been modified in the Windows Firewall exception list",
    2097: "A rule has been added to the Windows Firewall exception list",
}

CODE_INTEGRITY_EVENTS: dict[int, str] = {
    3001: "An unsigned kernel module was loaded",
    3033: "A file did not meet the signing level requirements (blocked)",
    3034: "A file did not meet the signing level requirements (audit)",
    3076: "Application Control audit block: the file would have been blocked",
    3077: "Application Control enforced block: the file was blocked",
    3089: "Signature information for a blocked or audit-blocked file",
    3099: "An Application Control policy was loaded",
}

APPLOCKER_EVENTS: dict[int, str] = {
    8002: "EXE or DLL was allowed to run",
    8003: "EXE or DLL would have been blocked (audit)",
    8004: "EXE or DLL was blocked",
    8005: "Script or MSI was allowed to run",
    8006: "Script or MSI would have been blocked (audit)",
    8007: "Script or MSI was blocked",
    8020: "Packaged app allowed",
    8021: "Packaged app audited",
    8022: "Packaged app disabled",
    8023: "Packaged app installation allowed",
    8024: "Packaged app installation audited",
    8025: "Packaged app installation disabled",
}

NTLM_EVENTS: dict[int, str] = {
    8001: "Outgoing NTLM authentication to a remote server (audit)",
    8002: "Incoming NTLM authentication to this server (audit)",
    8003: "NTLM authentication in the domain (audit)",
    8004: "NTLM authentication to this domain controller (audit)",
}

TERMINAL_SERVICES_LSM_EVENTS: dict[int, str] = {
    21: "Remote Desktop Services: session logon succeeded",
    22: "Remote Desktop Services: shell start notification received",
    23: "Remote Desktop Services: session logoff succeeded",
    24: "Remote Desktop Services: session has been disconnected",
    25: "Remote Desktop Services: session reconnection succeeded",
}

# Provider name -> {event id: title}.  Providers missing here have no
# well-known ids: explicit ids still get rows, with an empty title.
EVENT_TITLES: dict[str, dict[int, str]] = {
    "Sysmon": SYSMON_EVENTS,
    "Sysmon for Linux": SYSMON_FOR_LINUX_EVENTS,
    "Security": SECURITY_EVENTS,
    "System": SYSTEM_EVENTS,
    "Application": APPLICATION_EVENTS,
    "PowerShell": POWERSHELL_EVENTS,
    "Windows PowerShell": WINDOWS_POWERSHELL_EVENTS,
    "Windows Defender": DEFENDER_EVENTS,
    "Task Scheduler": TASK_SCHEDULER_EVENTS,
    "WMI-Activity": WMI_ACTIVITY_EVENTS,
    "BITS Client": BITS_CLIENT_EVENTS,
    "Windows Firewall": FIREWALL_EVENTS,
    "Code Integrity": CODE_INTEGRITY_EVENTS,
    "AppLocker": APPLOCKER_EVENTS,
    "NTLM": NTLM_EVENTS,
    "TerminalServices-LocalSessionManager": TERMINAL_SERVICES_LSM_EVENTS,
    "CAPI2": {70: "Acquire certificate private key"},
    "Certificate Services Client Lifecycle": {1007: "A certificate was exported"},
    "DNS Client": {3006: "DNS query is called", 3008: "DNS query is completed"},
    "DNS Server": {150: "The DNS server could not load or initialize the plug-in DLL"},
    "DNS Server Analytic": {256: "Query received", 257: "Response success", 258: "Response failure"},
    "IIS Configuration": {29: "Configuration change committed"},
    "PrintService Admin": {808: "The print spooler failed to load a plug-in module"},
    "PrintService Operational": {316: "A printer driver was added or updated"},
    "Security-Mitigations": {
        11: "Code integrity guard: non-Microsoft-signed image load (audit)",
        12: "Code integrity guard: non-Microsoft-signed image load blocked",
    },
    "SMB Client Security": {31017: "Rejected an insecure guest logon"},
}


# ---------------------------------------------------------------------------
# Logsource -> provider / events
# ---------------------------------------------------------------------------

# Windows categories backed by Sysmon events beyond pySigma-pipeline-sysmon's table (the rest of the
# category -> event table is read from pySigma: catalog.core.taxonomy.sources).
EXTRA_WINDOWS_CATEGORIES: dict[str, tuple[str, tuple[int, ...]]] = {
    "raw_access_read": ("Sysmon", (9,)),  # alias of the taxonomy's raw_access_thread, seen in some rule sets
    "file_delete": ("Sysmon", (23, 26)),  # Sysmon 26 logs a deletion without archiving the file
}

# Windows service -> event log channel (short provider name).
WINDOWS_SERVICES: dict[str, str] = {
    "application": "Application",
    "applocker": "AppLocker",
    "appmodel-runtime": "AppModel-Runtime",
    "appxdeployment-server": "AppXDeployment-Server",
    "appxpackaging-om": "AppxPackaging-OM",
    "bits-client": "BITS Client",
    "capi2": "CAPI2",
    "certificateservicesclient-lifecycle-system": "Certificate Services Client Lifecycle",
    "codeintegrity-operational": "Code Integrity",
    "diagnosis-scripted": "Diagnosis-Scripted",
    "dns-client": "DNS Client",
    "dns-server": "DNS Server",
    "dns-server-analytic": "DNS Server Analytic",
    "driver-framework": "DriverFrameworks-UserMode",
    "firewall-as": "Windows Firewall",
    "iis-configuration": "IIS Configuration",
    "ldap": "LDAP Client",
    "lsa-server": "LSA",
    "microsoft-servicebus-client": "Service Bus Client",
    "msexchange-management": "MSExchange Management",
    "ntlm": "NTLM",
    "openssh": "OpenSSH",
    "powershell": "PowerShell",
    "powershell-classic": "Windows PowerShell",
    "printservice-admin": "PrintService Admin",
    "printservice-operational": "PrintService Operational",
    "security": "Security",
    "security-mitigations": "Security-Mitigations",
    "shell-core": "Shell-Core",
    "smbclient-connectivity": "SMB Client Connectivity",
    "smbclient-security": "SMB Client Security",
    "smbserver-connectivity": "SMB Server Connectivity",
    "sysmon": "Sysmon",
    "system": "System",
    "taskscheduler": "Task Scheduler",
    "terminalservices-localsessionmanager": "TerminalServices-LocalSessionManager",
    "windefend": "Windows Defender",
    "wmi": "WMI-Activity",
}

# The event log channels of the Windows services pySigma's `windows_logsource_mapping`
# (sigma.pipelines.common) does not list, as Windows names them (the rules' `definition`s and Microsoft's
# event log names); the other channels are read from pySigma (catalog.core.taxonomy.channels).
EXTRA_CHANNELS: dict[str, tuple[str, ...]] = {
    "iis-configuration": ("Microsoft-IIS-Configuration/Operational",),
    "ldap": ("Microsoft-Windows-LDAP-Client/Debug",),
    "smbclient-connectivity": ("Microsoft-Windows-SmbClient/Connectivity",),
    "smbserver-connectivity": ("Microsoft-Windows-SMBServer/Connectivity",),
}
# Event providers (`Provider_Name`) whose name is not their channel's: an event naming only its provider.
PROVIDER_SERVICES: dict[str, str] = {
    "Microsoft-Windows-Security-Auditing": "security",
    "Service Control Manager": "system",
    "PowerShell": "powershell-classic",
}

# Linux: Sysmon for Linux backs these categories (same ids as on Windows).
LINUX_CATEGORIES: dict[str, tuple[str, tuple[int, ...]]] = {
    "process_creation": ("Sysmon for Linux", (1,)),
    "network_connection": ("Sysmon for Linux", (3,)),
    "file_event": ("Sysmon for Linux", (11,)),
    "file_delete": ("Sysmon for Linux", (23,)),
}

# Linux services -> log name; they have no numeric event ids.
LINUX_SERVICES: dict[str, str] = {
    "auditd": "auditd",
    "auth": "auth",
    "cron": "cron",
    "sshd": "sshd",
    "sudo": "sudo",
    "syslog": "syslog",
}
