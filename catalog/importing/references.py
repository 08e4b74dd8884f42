"""The shared rows rules point at: ATT&CK tactics and techniques, event types and indicators.

Each is looked up once per import and created in bulk when missing, rather than one query per rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from catalog.core.reference import attack
from catalog.importing.bulk import chunks, insert_rows
from catalog.importing.preparing import all_indicators
from catalog.importing.rows import EventRow, PreparedRule
from catalog.models import EventType, Indicator, Polarity, Tactic, Technique

# Indicator ids kept by key while an import runs (about 180 bytes each): SigmaHQ has 34,000 indicators, its 20x copy
# 247,000 (some 45 MB), and a larger catalog more. Past this, each batch looks up its own keys.
KEYS_KEPT = 100_000
BIG_IMPORT = 2000  # indicators in a batch from which an import reads every existing key at once


class ReferenceData:
    """Tactics, techniques, event types and indicators: looked up once, created in bulk."""

    def __init__(self):
        self.data = attack.load()
        ensure_attack_data(self.data)
        self.tactics = dict(Tactic.objects.values_list("shortname", "pk"))
        self.techniques = dict(Technique.objects.values_list("technique_id", "pk"))
        self.events = {(p, e): pk for pk, p, e in EventType.objects.values_list("pk", "provider", "event_id")}
        self.indicators: dict[str, int] | None = None  # identity hash -> id, loaded on first need

    def tactic_id(self, shortname: str) -> int:
        if shortname not in self.tactics:
            t = self.data.tactic(shortname)
            self.tactics[shortname] = Tactic.objects.create(
                shortname=shortname, attack_id=t.attack_id, name=t.name, order=t.order, legacy=t.legacy
            ).pk
        return self.tactics[shortname]

    def technique_id(self, technique_id: str) -> int:
        if technique_id not in self.techniques:  # not in ATT&CK: kept, flagged unknown
            self.techniques[technique_id] = Technique.objects.create(technique_id=technique_id, name="", known=False).pk
        return self.techniques[technique_id]

    def event_id(self, provider: str, event_id: int | None, title: str) -> int:
        key = (provider, event_id)
        if key not in self.events:
            self.events[key] = EventType.objects.create(provider=provider, event_id=event_id, title=title).pk
        return self.events[key]

    def add_events(self, events: Iterable[EventRow]) -> None:
        """Create the missing event types of these rows in one statement (SigmaHQ names ~300: one INSERT
        each was ~300 round trips)."""
        missing: dict[tuple[str, int | None], str] = {}
        for provider, event_id, title in events:
            if (provider, event_id) not in self.events:
                missing.setdefault((provider, event_id), title)
        rows = [(provider, event_id, title) for (provider, event_id), title in missing.items()]
        ids = insert_rows(EventType, ["provider", "event_id", "title"], rows, returning=True)
        self.events.update(zip(missing, ids, strict=True))

    def indicator_ids(self, prepared_rules: list[PreparedRule], counted: list[PreparedRule]) -> dict[str, int]:
        """Ids of the indicators these rules carry, creating the new ones.

        A new indicator starts with the corpus counts of the `counted` rules (those written visible): the
        recount when the import is published (catalog.publishing.visibility) then finds most new indicators
        already right. Updating every new indicator's row there instead cost seconds on PostgreSQL (a new
        version of each row, in every index of the table, the trigram index included).
        """
        wanted = all_indicators(prepared_rules)
        if self.indicators is None:
            # Into an empty catalog nothing is looked up. A big import reads every existing key once (while they are
            # not too many to keep); a small one looks up only its own.
            self.indicators, self.all_loaded = {}, not Indicator.objects.exists()
            if not self.all_loaded and len(wanted) > BIG_IMPORT and Indicator.objects.count() <= KEYS_KEPT:
                self.indicators, self.all_loaded = dict(Indicator.objects.values_list("key", "pk")), True
        elif len(self.indicators) > KEYS_KEPT:  # memory stays bounded: from here on each batch looks its keys up
            self.indicators, self.all_loaded = {}, False
        known = self.indicators
        if not self.all_loaded:
            lookup = [k for k in wanted if k not in known]
            for chunk in chunks(lookup, 500):
                known.update(Indicator.objects.filter(key__in=chunk).values_list("key", "pk"))
        missing = [k for k in wanted if k not in known]
        counts = _counts(counted, set(missing))
        new_ids = insert_rows(
            Indicator,
            ["key", "field", "kind", "value", "transforms", "cased", "display", "corpus_count", "exclude_count"],
            [
                (r.key, r.field, r.kind, r.value, r.transforms, r.cased, r.display, *counts.get(r.key, (0, 0)))
                for r in map(wanted.get, missing)
            ],
            returning=True,
        )
        known.update(zip(missing, new_ids, strict=True))
        return known


def _counts(rules: list[PreparedRule], keys: set[str]) -> dict[str, tuple[int, int]]:
    """(rules looking for it, rules excluding it) per indicator key among `keys`, as recount_corpus counts:
    a rule's indicator row counts for the first unless it only excludes, for the second unless it only looks."""
    counts: dict[str, list[int]] = {}
    for rule in rules:
        for row in rule.indicators:
            if row.key in keys:
                pair = counts.setdefault(row.key, [0, 0])
                pair[0] += row.polarity != Polarity.EXCLUDES
                pair[1] += row.polarity != Polarity.LOOKS_FOR
    return {key: (looks, excludes) for key, (looks, excludes) in counts.items()}


def ensure_attack_data(data: attack.AttackData) -> None:
    """Every ATT&CK tactic and technique exists as a row, so coverage gaps show too."""
    tactics = dict(Tactic.objects.values_list("shortname", "pk"))
    Tactic.objects.bulk_create(
        [
            Tactic(shortname=t.shortname, attack_id=t.attack_id, name=t.name, order=t.order, legacy=t.legacy)
            for t in data.tactics.values()
            if t.shortname not in tactics
        ]
    )
    existing = set(Technique.objects.values_list("technique_id", flat=True))
    missing = [t for t in data.techniques.values() if t.technique_id not in existing]
    if not missing:
        return
    Technique.objects.bulk_create([Technique(technique_id=t.technique_id, name=t.name, known=True) for t in missing])
    tactics = dict(Tactic.objects.values_list("shortname", "pk"))
    techniques = dict(Technique.objects.values_list("technique_id", "pk"))
    insert_rows(
        Technique.tactics.through,
        ["technique_id", "tactic_id"],
        [(techniques[t.technique_id], tactics[s]) for t in missing for s in t.tactics if s in tactics],
    )
