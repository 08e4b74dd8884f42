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
    stored = stored_counts.counts_by_kind("total", "source", "source_quality")
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
        "quality": quality_rows(stored["source_quality"]),
    }


QUALITY_COLUMNS = ("high", "medium", "low", "clean")


def quality_by_source() -> list[dict]:
    """Live rules of each source by the worst severity of their findings (1 query): /api/quality/."""
    return quality_rows(stored_counts.counts_of("source_quality"))


def quality_rows(counts) -> list[dict]:
    """[{source, rules, high, medium, low, clean, not_validated}] by source name, from the summary's
    "source\tquality" counts (catalog.publishing.summaries); `not_validated`: imported before findings existed."""
    rows: dict[str, dict] = {}
    for key, count in counts.items():
        source, _, quality = key.partition("\t")
        row = rows.setdefault(source, {"source": source, "rules": 0, **dict.fromkeys(QUALITY_COLUMNS, 0)})
        row["rules"] += count
        column = quality if quality in QUALITY_COLUMNS else "not_validated"
        row[column] = row.get(column, 0) + count
    return [{"not_validated": 0, **rows[name]} for name in sorted(rows)]
