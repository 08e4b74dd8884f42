"""What a telemetry profile runs: every rule runnable, runnable with missing fields, or not runnable.

/coverage/ and /api/coverage/ both read `profile_coverage()`. It works on need signatures (rules
with the same log source, events and looked-for fields; catalog.models.telemetry), so its cost
follows the number of kinds of rules, not of rules: 2 queries, then Python over ~1,000 signatures.

A rule's *ways in* are the events that can back its log source (catalog.core.taxonomy.ways: Sysmon
and the Security-log equivalents for a Windows category; the events the catalog maps a Windows
service rule to), and its log source itself (a `logsources` pattern). A way in the profile collects
runs the rule when it carries every looked-for field (Windows events' common fields, EventID,
Channel..., always count as carried); fields are only checked where a field list is known (Windows
categories), elsewhere every field counts as carried. The best collected way in decides. The event
pages count the same ways (catalog.browse.queries.event_ways), so they agree with a profile of one event.

A profile read from a sample of logs (catalog.coverage.inferred) also says which fields each event
never fills (`Profile.unfilled`, in the event's own names): a way in through that event lacks each
looked-for field it would read from one of them (`WayIn.reads`: the field, renamed for a mapped event).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import lru_cache

from catalog.core.taxonomy import common_fields, event_title, signature_ways
from catalog.coverage.profile import Profile, event_token, logsource_token
from catalog.models import Rule
from catalog.models.telemetry import NeedSignature

RUNNABLE, PARTIAL, NONE = "runnable", "partial", "not_runnable"
CLASSES = (RUNNABLE, PARTIAL, NONE)
SUGGESTIONS_PER_TECHNIQUE = 3


@dataclass(frozen=True)
class WayIn:
    token: str  # "sysmon:1", or "logsource=windows:process_creation:"
    provider: str | None  # None for a log-source way in
    event_id: int | None
    missing: tuple[str, ...]  # looked-for fields this way in does not carry
    suggest: bool  # offered in "add this next" (a Windows category is offered as events, not as a log source)
    label: str = ""  # "sysmon:10 Process accessed", "linux::auditd"
    # (looked-for field, the event's own name for it casefolded) of each field it carries but common ones
    reads: tuple[tuple[str, str], ...] = ()


def way_in(token, provider, event_id, missing, suggest, reads=()) -> WayIn:
    if provider is None:
        label = token.removeprefix("logsource=")
    else:
        label = f"{token} {event_title(provider, event_id)}".strip()
    return WayIn(token, provider, event_id, missing, suggest, label, reads)


def _reads(way, fields) -> tuple[tuple[str, str], ...]:
    """The looked-for fields a taxonomy way carries, each with the event field it is read from."""
    renamed = {sigma.casefold(): native for sigma, native in way.renames}
    common = common_fields()
    return tuple(
        (name, renamed.get(name.casefold(), name).casefold())
        for name in dict.fromkeys(fields)
        if name.casefold() not in common and name not in way.missing
    )


@dataclass(slots=True)
class Signature:
    pk: int
    product: str
    category: str
    service: str
    rule_count: int
    ways: tuple[WayIn, ...]
    status: str = NONE
    via: list[WayIn] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    gaps: dict[str, tuple[str, ...]] = field(default_factory=dict)  # collected way in -> fields it lacks

    @property
    def logsource(self) -> str:
        return logsource_token(self.product, self.category, self.service)

    @property
    def platform(self) -> str:
        """What blind spots are grouped by: the product ("windows", "aws"), else the category or service."""
        return self.product or self.category or self.service or "any"


_ways_cache: dict[str, tuple[WayIn, ...]] = {}


def ways_in(key: str, product: str, category: str, service: str, events: list[str], fields: list[str]):
    """The ways in of a need (cached by the need's key: they depend on nothing else): the taxonomy's
    Windows ways (catalog.core.taxonomy.ways), then the log source itself."""
    cached = _ways_cache.get(key)
    if cached is not None:
        return cached
    ways = []
    if product == "windows":
        for way in signature_ways(product, category, service, events, fields):
            ways.append(way_in(way.token, way.provider, way.event_id, way.missing, True, _reads(way, fields)))
    ways.append(way_in("logsource=" + logsource_token(product, category, service), None, None, (), not ways))
    if len(_ways_cache) > 100_000:
        _ways_cache.clear()
    _ways_cache[key] = result = tuple(ways)
    return result


def _read_ways(pks: list[int]) -> None:
    """Fill the ways-in cache for signatures not seen yet (only their events and fields are read)."""
    for start in range(0, len(pks), 500):
        for key, product, category, service, events, fields in NeedSignature.objects.filter(
            pk__in=pks[start : start + 500]
        ).values_list("key", "product", "category", "service", "events", "fields"):
            ways_in(key, product.casefold(), category.casefold(), service.casefold(), events, fields)


def classify(profile: Profile, signature: Signature) -> None:
    events, collected = profile.events, []
    for way in signature.ways:
        if way.provider is None:
            hit = bool(profile.logsources) and profile.collects_logsource(
                signature.product, signature.category, signature.service
            )
        else:
            hit = (way.provider, way.event_id) in events or (way.provider, None) in events
            if hit and profile.unfilled and way.event_id is not None:
                lacking = tuple(name for name, own in way.reads if profile.lacks(way.provider, way.event_id, own))
                way = replace(way, missing=way.missing + lacking) if lacking else way
        if hit:
            collected.append(way)
    if not collected:
        signature.status = NONE
        return
    complete = [way for way in collected if not way.missing]
    signature.gaps = {way.token: way.missing for way in collected if way.missing}
    if complete:
        signature.status, signature.via, signature.missing = RUNNABLE, complete, ()
    elif collected:
        best = min(collected, key=lambda way: len(way.missing))
        signature.status, signature.via, signature.missing = PARTIAL, collected, best.missing
    else:
        signature.status, signature.via, signature.missing = NONE, [], ()


@dataclass
class Coverage:
    profile: Profile
    signatures: list[Signature]
    counts: dict[str, int]  # rules per class
    runnable: dict[str, int]  # technique id -> runnable rules (rolled up for techniques)
    total: dict[str, int]  # technique id -> live rules in the catalog (rolled up)
    next_steps: list[dict]  # "add this next", best first
    suggestions: dict[str, list[dict]]  # blind technique id -> what would cover it
    platforms: dict[str, set[str]] = field(default_factory=dict)  # technique id -> platforms of its rules

    def of_class(self, name: str) -> list[Signature]:
        return [s for s in self.signatures if s.status == name]

    @property
    def covered(self) -> set[str]:
        return {tid for tid, n in self.runnable.items() if n}

    @property
    def blind(self) -> set[str]:
        return {tid for tid, n in self.total.items() if n and not self.runnable.get(tid)}


def profile_coverage(profile: Profile) -> Coverage:
    """Classify every need signature for `profile`, count rules and techniques, rank what to add next.

    An empty profile is answered without reading further than the signatures (all not runnable).
    """
    rows = list(
        NeedSignature.objects.filter(rule_count__gt=0).values_list(
            "pk", "key", "product", "category", "service", "rule_count", "technique_counts"
        )
    )
    _read_ways([pk for pk, key, *_ in rows if key not in _ways_cache])
    signatures = []
    techniques = {}  # signature pk -> {technique id: live rules}
    runnable, total, platforms = defaultdict(int), defaultdict(int), defaultdict(set)
    for pk, key, product, category, service, count, tagged in rows:
        signature = Signature(pk, product.casefold(), category.casefold(), service.casefold(), count, _ways_cache[key])
        classify(profile, signature)
        signatures.append(signature)
        if tagged:
            per = techniques[pk] = technique_counts(tagged)
            for technique_id, n in per:
                total[technique_id] += n
                platforms[technique_id].add(signature.platform)
                if signature.status == RUNNABLE:
                    runnable[technique_id] += n
    counts = dict.fromkeys(CLASSES, 0)
    for signature in signatures:
        counts[signature.status] += signature.rule_count
    next_steps, suggestions = _next_steps(signatures, techniques, runnable)
    return Coverage(profile, signatures, counts, dict(runnable), dict(total), next_steps, suggestions, dict(platforms))


@lru_cache(maxsize=20_000)
def technique_counts(text: str) -> tuple[tuple[str, int], ...]:
    """ "T1003:4 T1003.001:3" -> (("T1003", 4), ("T1003.001", 3)): a pure function of the stored text."""
    return tuple((t, int(n)) for t, _, n in (item.partition(":") for item in text.split()))


def _next_steps(signatures, techniques, runnable):
    """Each way in not collected, with the rules it would make runnable and the techniques it would cover."""
    gains = defaultdict(list)  # token -> signatures it would make runnable
    ways = {}
    for signature in signatures:
        if signature.status == RUNNABLE:
            continue
        via = {way.token for way in signature.via}  # a collected way may have lost fields to the profile's unfilled
        for way in signature.ways:
            if way.suggest and not way.missing and way.token not in via:
                gains[way.token].append(signature)
                ways[way.token] = way
    steps, per_technique = [], defaultdict(lambda: defaultdict(int))
    for token, gained in gains.items():
        new = set()
        for signature in gained:
            for technique_id, rolled in techniques.get(signature.pk, ()):
                if not runnable.get(technique_id):
                    new.add(technique_id)
                    per_technique[technique_id][token] += rolled
        rules = sum(s.rule_count for s in gained)
        steps.append({"token": token, "label": ways[token].label, "rules": rules, "techniques": sorted(new)})
    steps.sort(key=lambda step: (-step["rules"], -len(step["techniques"]), step["token"]))
    suggestions = {
        technique_id: [
            {"token": token, "label": ways[token].label, "rules": n}
            for token, n in sorted(options.items(), key=lambda item: (-item[1], item[0]))[:SUGGESTIONS_PER_TECHNIQUE]
        ]
        for technique_id, options in per_technique.items()
    }
    return steps, suggestions


def class_rules(result: Coverage, status: str):
    """The live rules of one class, as a queryset (for lists and exports)."""
    return Rule.objects.live().filter(need__signature_id__in=[s.pk for s in result.of_class(status)])


__all__ = ["CLASSES", "Coverage", "class_rules", "event_token", "profile_coverage"]
