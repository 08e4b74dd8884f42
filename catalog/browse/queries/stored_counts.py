"""The summary tables as the pages read them (written by catalog.publishing.summaries on every catalog version)."""

from __future__ import annotations

from collections import Counter

from catalog.models.summaries import CountSummary


def facet_rows(names) -> dict[str, list[tuple[str, str, int]]]:
    """{facet: [(value, label, count), ...]} over all live, public rules, as stored (unordered)."""
    rows = {name: [] for name in names}
    for kind, key, label, count in CountSummary.objects.filter(kind__in=list(names)).values_list(
        "kind", "key", "label", "count"
    ):
        rows[kind].append((key, label, count))
    return rows


def counts_of(kind: str) -> Counter:
    """{key: count} of one kind of count."""
    return Counter(dict(CountSummary.objects.filter(kind=kind).values_list("key", "count")))


def counts_by_kind(*kinds: str) -> dict[str, Counter]:
    """{kind: {key: count}} of several kinds of count, in one query."""
    counted = {kind: Counter() for kind in kinds}
    for kind, key, count in CountSummary.objects.filter(kind__in=kinds).values_list("kind", "key", "count"):
        counted[kind][key] = count
    return counted
