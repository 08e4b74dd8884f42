"""The bulk export formats: each SIEM's own import file, written one rule at a time.

- `savedsearches`: Splunk's savedsearches.conf, one stanza per rule (Splunk Enterprise Security's
  correlation-search keys carry the label and the ATT&CK annotations);
- `ndjson`: Elastic detection rules, one JSON object a line, as Kibana's rule import takes them;
- `arm`: an Azure Resource Manager template of Microsoft Sentinel scheduled analytics rules.
Every exported rule keeps its title, description, level (the curator's override when set), ATT&CK
mapping, catalog URL and Sigma id in the fields its product expects. Rules are exported disabled:
an analyst enables what fits their data. A rule its format cannot carry (several queries, a query
over Sentinel's length limit) is a failure, listed in the file's closing report like conversion errors.
"""

from __future__ import annotations

from ..targets import UnknownChoice
from .base import BulkFormat, Failure, PlainQueries
from .elastic import ELASTIC_RULE_TYPES, ElasticNdjson
from .sentinel import SENTINEL_TACTICS, SentinelArm
from .splunk import SplunkSavedSearches

__all__ = [
    "ELASTIC_RULE_TYPES",
    "FORMATS",
    "SENTINEL_TACTICS",
    "BulkFormat",
    "Failure",
    "bulk_format",
]

FORMATS: dict[str, type[BulkFormat]] = {
    f.id: f for f in (SplunkSavedSearches, ElasticNdjson, SentinelArm, PlainQueries)
}


def bulk_format(target: str, asked: str | None) -> type[BulkFormat]:
    """The export format for a target: the one asked for if it takes the target, else its family's own."""
    if asked:
        chosen = FORMATS.get(asked)
        if chosen is None:
            raise UnknownChoice(f"Unknown export format {asked!r}; choose one of: {', '.join(FORMATS)}.")
        if chosen.targets and target not in chosen.targets:
            raise UnknownChoice(f"The {asked} format takes the targets {', '.join(chosen.targets)}, not {target!r}.")
        return chosen
    return next((f for f in FORMATS.values() if target in f.targets), PlainQueries)
