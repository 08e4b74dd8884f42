"""A new catalog version, with the summary tables rewritten in the same transaction.

Every write path that changes what public pages show calls `bump_version` (imports and visibility
changes through catalog.publishing.visibility.publish, curation saves through Rule's signals in catalog.apps and
catalog.curation.edits, the admin's source edits). It lives here, above the models, because rewriting the
summaries runs the read layer's aggregates (catalog.publishing.summaries -> catalog.browse/queries): as a model method
(it was `CatalogVersion.bump`) it made catalog.models import the layers built on it.
"""

from __future__ import annotations

from django.db import transaction

from catalog.models import CatalogVersion
from catalog.publishing import summaries


def bump_version(*, fields: bool = False) -> None:
    """A new version and exact summaries, both or neither (one transaction, the caller's when it has one).

    `fields` also rewrites the field counts, for changes of which rules are live (imports, visibility).
    """
    with transaction.atomic():
        CatalogVersion.bump()
        summaries.refresh(fields=fields)
