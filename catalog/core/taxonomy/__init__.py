"""The one model of log sources: which events back which Sigma rules, and how.

Every page and feature reads it: the importer (a rule's own events, `events_for`), /coverage/, the event
pages and the rule page (a rule's ways in, `ways`), and matching (an event's log source and the
categories a mapped event runs, `mapping`). Derived from pySigma's pipelines and SigmaHQ's
logsource.json (pipelines.py), with the hand-written facts no pipeline has (security.py, and the titles
and channel names of catalog.core.reference.event_tables).

    pipelines  pySigma plugin discovery (once per process), its mappings, logsource.json
    channels   Windows services <-> their event log channels (which service an event belongs to)
    security   Security event schemas and the renames and categories no pipeline gives
    sources    category -> Source (provider, event id, fields carried, renames, conditions, mapped)
    names      provider display names <-> slugs, event titles
    events     a rule's own (native) events, stored at import
    ways       a rule's ways in, with the fields each lacks
    mapping    a logged event seen as the category a mapped event backs

Pure Python: pySigma and json, no Django and no other catalog package but catalog.core.reference.
"""

from .channels import service_channels, service_of, services_of, windows_services
from .names import canonical_provider, event_title, provider_name, provider_slug, title_for
from .pipelines import category_fields, common_fields, logsource_fields, plugins
from .sources import Source, category_of, category_sources, mapped_sources, native_categories, security_fields
from .ways import Way, event_counts, parse_token, runs_text, runs_token, signature_ways, ways

__all__ = [
    "Source",
    "Way",
    "canonical_provider",
    "category_of",
    "category_fields",
    "category_sources",
    "common_fields",
    "event_counts",
    "event_title",
    "logsource_fields",
    "mapped_sources",
    "native_categories",
    "parse_token",
    "plugins",
    "provider_name",
    "provider_slug",
    "runs_text",
    "runs_token",
    "security_fields",
    "service_channels",
    "service_of",
    "services_of",
    "signature_ways",
    "title_for",
    "ways",
    "windows_services",
]
