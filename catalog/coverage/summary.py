"""Keep the need summary (catalog.models.telemetry) exact: called by catalog.publishing.visibility.publish().

`refresh()` runs whenever an import, hide, unhide or retire is published. It reads the need of the
rules whose content changed since it was last read (new rules, and rules whose content_hash moved),
then recounts every signature's live rules and its technique counts in a few set-based statements, and
the events each signature runs (`runs`, read by the event pages).
Detection rules only: correlation and filter rules have no log source of their own to collect.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import F, Q

from catalog.core import taxonomy
from catalog.models import Polarity, Predicate, Rule, RuleType, live_rules_q
from catalog.models.telemetry import NeedSignature, RuleNeed

BATCH = 2000
NEED_COLUMNS = ("product", "category", "service", "events", "fields")


def refresh() -> None:
    with transaction.atomic():
        stale = list(
            Rule.objects.filter(rule_type=RuleType.RULE)
            .filter(Q(need__isnull=True) | ~Q(need__content_hash=F("content_hash")))
            .values_list("pk", "content_hash", "product", "category", "service")
        )
        for start in range(0, len(stale), BATCH):
            _read_needs(stale[start : start + BATCH])
        recount()
        refresh_runs()


def refresh_runs() -> None:
    """Each signature's `runs`, the events it runs with every field carried (the taxonomy's ways in): for
    new signatures, and for all when the taxonomy changed (a pySigma upgrade). ~1,000 rows at SigmaHQ's size."""
    changed = []
    for pk, runs, *need in NeedSignature.objects.values_list("pk", "runs", *NEED_COLUMNS):
        fresh = taxonomy.runs_text(taxonomy.signature_ways(*need))
        if fresh != runs:
            changed.append((fresh, pk))
    _executemany("UPDATE {table} SET runs = %s WHERE id = %s", NeedSignature, changed)


def _read_needs(rows) -> None:
    ids = [row[0] for row in rows]
    fields = defaultdict(set)
    for rule_id, name in (
        Predicate.objects.filter(rule_id__in=ids, polarity__in=[Polarity.LOOKS_FOR, Polarity.BOTH])
        .exclude(field="")
        .values_list("rule_id", "field")
        .distinct()
    ):
        fields[rule_id].add(name)
    events = defaultdict(set)
    for rule_id, provider, event_id in Rule.events.through.objects.filter(rule_id__in=ids).values_list(
        "rule_id", "eventtype__provider", "eventtype__event_id"
    ):
        events[rule_id].add(f"{taxonomy.provider_slug(provider)}:{'*' if event_id is None else event_id}")
    needs = {}
    for pk, content_hash, product, category, service in rows:
        need = {
            "product": product,
            "category": category,
            "service": service,
            "events": sorted(events[pk]),
            "fields": sorted(fields[pk]),
        }
        key = hashlib.sha256(json.dumps(need, sort_keys=True).encode()).hexdigest()
        needs[pk] = (key, content_hash, need)
    keys = {key for key, _, _ in needs.values()}
    known = dict(NeedSignature.objects.filter(key__in=keys).values_list("key", "pk"))
    new = {key: need for key, _, need in needs.values() if key not in known}
    NeedSignature.objects.bulk_create([NeedSignature(key=key, **need) for key, need in new.items()])
    known = dict(NeedSignature.objects.filter(key__in=keys).values_list("key", "pk"))
    RuleNeed.objects.filter(rule_id__in=ids).delete()
    # executemany: bulk_create compiles every row's placeholders (seconds for a 20x corpus).
    _executemany(
        "INSERT INTO {table} (rule_id, signature_id, content_hash) VALUES (%s, %s, %s)",
        RuleNeed,
        [(pk, known[key], h) for pk, (key, h, _) in needs.items()],
    )


def _executemany(sql: str, model, rows) -> None:
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql.format(table=connection.ops.quote_name(model._meta.db_table)), rows)


def recount() -> None:
    """Live rules per signature, and per signature and technique: exact after every publish."""
    live = Rule.objects.filter(live_rules_q(), need__isnull=False)
    counts = defaultdict(int)
    for signature_id in live.values_list("need__signature_id", flat=True).iterator(chunk_size=5000):
        counts[signature_id] += 1
    techniques = _technique_counts()
    changed = []
    for pk, rule_count, technique_counts in NeedSignature.objects.values_list("pk", "rule_count", "technique_counts"):
        fresh = (counts.get(pk, 0), techniques.get(pk, ""))
        if (rule_count, technique_counts) != fresh:
            changed.append((*fresh, pk))
    _executemany("UPDATE {table} SET rule_count = %s, technique_counts = %s WHERE id = %s", NeedSignature, changed)
    NeedSignature.objects.filter(rule_needs__isnull=True).delete()


def _technique_counts() -> dict[int, str]:
    """Signature -> "T1003:4 T1003.001:3": live rules tagging each technique (or one of its sub-techniques)."""
    tagged = defaultdict(set)  # rule -> technique ids, parents added
    signature_of = {}
    for rule_id, signature_id, technique_id in Rule.techniques.through.objects.filter(
        live_rules_q("rule"), rule__need__isnull=False
    ).values_list("rule_id", "rule__need__signature_id", "technique__technique_id"):
        tagged[rule_id].update((technique_id, technique_id.split(".")[0]))
        signature_of[rule_id] = signature_id
    rolled = defaultdict(lambda: defaultdict(int))
    for rule_id, techniques in tagged.items():
        for technique_id in techniques:
            rolled[signature_of[rule_id]][technique_id] += 1
    return {s: " ".join(f"{t}:{n}" for t, n in sorted(per.items())) for s, per in rolled.items()}
