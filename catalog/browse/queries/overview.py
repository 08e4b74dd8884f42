"""The front page: catalog totals, coverage by tactic and the latest changes."""

from __future__ import annotations

from catalog.browse.queries import stored_counts
from catalog.browse.queries.attack import tactics_with_counts
from catalog.browse.queries.rules import recent_rules


def overview() -> dict:
    """Totals of live rules, techniques, events and listed indicators; tactics; recent rules (3 queries)."""
    stored = stored_counts.counts_of("total")
    totals = {name: stored.get(name, 0) for name in ("rules", "techniques", "events", "indicators")}
    return {"totals": totals, "tactics": list(tactics_with_counts()), "recent": recent_rules()}
