"""The front page: catalog totals, coverage by tactic and the latest changes."""

from __future__ import annotations

from django.db.models import Count

from catalog.models import Rule
from catalog.queries.attack import tactics_with_counts
from catalog.queries.indicators import listed_indicators
from catalog.queries.rules import recent_rules


def overview() -> dict:
    """Totals of live rules, techniques, events and listed indicators; tactics; recent rules (5 queries)."""
    totals = Rule.objects.live().aggregate(
        rules=Count("pk", distinct=True),
        techniques=Count("techniques", distinct=True),
        events=Count("events", distinct=True),
    )
    totals["indicators"] = listed_indicators().count()
    return {"totals": totals, "tactics": list(tactics_with_counts()), "recent": recent_rules()}
