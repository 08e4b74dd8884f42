"""Which Windows events back which Sigma log categories, and which Sigma fields each event carries: the
names /coverage/ reads, all from the catalog's one taxonomy (catalog.core.taxonomy, derived from
pySigma's pipelines and SigmaHQ's logsource.json), which the event pages, the rule page and matching
read too.
"""

from catalog.core.taxonomy import (
    Source,
    category_fields,
    category_sources,
    common_fields,
    event_title,
    logsource_fields,
    provider_name,
    provider_slug,
    security_fields,
)

__all__ = [
    "Source",
    "category_fields",
    "category_sources",
    "common_fields",
    "event_title",
    "logsource_fields",
    "provider_name",
    "provider_slug",
    "security_fields",
]
