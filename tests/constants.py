"""Paths and rule ids the tests share, defined once.

Two rule sets: the project's example rules (rules/, in every test database as source "examples")
and the SigmaHQ snapshot (../shared/corpus/sigmahq, source "sigmahq", only for tests that request
the `corpus` fixture). Ids of SigmaHQ rules are only meaningful in those tests.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "rules"
CORPUS = (ROOT.parent / "shared" / "corpus" / "sigmahq").resolve()
CORPUS_FOLDERS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance", "rules-placeholder"]


def corpus_paths() -> list[str]:
    """The five SigmaHQ rule folders, as `import_rules` is given them."""
    return [str(CORPUS / folder) for folder in CORPUS_FOLDERS]


# -- the example rules (rules/, see rules/README.md) ---------------------------------------------------
EXAMPLE_FILES = 29  # files below rules/ ...
EXAMPLE_RULES = 35  # ... holding this many rules (multi-document files and a legacy collection)
CERTUTIL = "windows/process_creation/proc_creation_win_certutil_remote_download.yml"
CERTUTIL_ID = "fb6ebed3-a7c3-43fe-bd17-93997d27921a"  # Certutil Fetching Remote Content: the filter's target
SSH = "linux/process_creation/proc_creation_lnx_ssh_reverse_tunnel_or_socks.yml"
SSH_ID = "514ec3da-37ef-4f0a-9b1b-66c2929dc6aa"  # SSH Client Started With Remote Forwarding
FILTER_RULE_ID = "7c0b5a2c-6da8-4881-8898-06d3d7c2abcb"  # Exclude Managed Software Deployment Agents (a filter)
TEMPORAL_CORRELATION_ID = "53ef49af-9a6b-49c7-8234-66e005b150d8"  # Successful Logon Following A Burst Of ...
CRADLE_ID = "4b266451-39f0-4372-92b5-a54a2a80ec71"  # PowerShell ... Download Cradle: shares \powershell.exe
RELATED_EXAMPLE_ID = "799b2246-86f3-4771-a1cb-35cf419a1449"  # names the encoded download cradle as `derived`
ZEEK_ID = "17090eb5-d820-4fbe-a6da-147734215341"  # Long-Lived Asymmetric Upload: non-standard top-level keys

# -- SigmaHQ rules (only with the `corpus` fixture) --------------------------------------------------
CORPUS_RULES = 3780  # rules in the five folders of the snapshot
REFERENCE_RULE_ID = "1c67a717-32ba-409b-a45d-0fb704a73a81"  # System Network Connections Discovery Via Net.EXE
BIG_RULE_ID = "7aaaf4b8-e47c-4295-92ee-6ed40a6f60c8"  # Vulnerable Driver Load: ~4,400 indicators
SMALL_RULE_ID = "0c46d4f4-a2bf-4104-9597-8d653fc2bb55"  # GitHub Repository Pages Site Changed to Public: 1
RELATED_RULE_ID = "514f533b-f56e-421d-80b0-f7706a3e9d23"  # names a related rule
