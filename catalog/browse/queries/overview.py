"""The front page: catalog totals, coverage by tactic, the latest changes, and whether it holds only examples."""

from __future__ import annotations

from catalog.browse.queries import stored_counts
from catalog.browse.queries.attack import tactics_with_counts
from catalog.browse.queries.rules import recent_rules
from catalog.models import EXAMPLES_SOURCE


def overview() -> dict:
    """Totals of live rules, techniques, events and listed indicators; tactics; recent rules (3 queries).

    `examples_only`: every live rule is one of the example rules `make run` imports (a first run), and the
    page says how to load a real corpus. Beside any other source the examples stay out of the recent rules.
    """
    stored = stored_counts.counts_by_kind("total", "source")
    totals = {name: stored["total"].get(name, 0) for name in ("rules", "techniques", "events", "indicators")}
    sources = {name for name, count in stored["source"].items() if count}
    examples_only = sources == {EXAMPLES_SOURCE}
    left_out = [EXAMPLES_SOURCE] if EXAMPLES_SOURCE in sources and not examples_only else []
    return {
        "totals": totals,
        "tactics": list(tactics_with_counts()),
        "recent": recent_rules(without_sources=left_out),
        "examples_only": examples_only,
        "examples_left_out": bool(left_out),
        "examples_source": EXAMPLES_SOURCE,
    }
