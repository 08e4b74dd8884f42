"""Which Windows events back which Sigma log categories, the fields each carries, and the renames.

`category_sources()` is the one table: Windows category -> the events that can back it, each a
`Source`. Where each fact comes from (catalog.core.taxonomy.pipelines and .security):

* Sysmon events: pySigma-pipeline-sysmon's category -> event ids, merged with the few the catalog
  adds (catalog.core.reference.event_tables.EXTRA_WINDOWS_CATEGORIES: the `raw_access_read` alias,
  Sysmon 26 for file_delete). Native: a Sysmon event carries the Sigma field names themselves.
* PowerShell 4103/4104 and classic 400/600/800: pySigma-pipeline-windows' channel mapping; native.
* Security 4688 (process_creation) and 4657 (registry_event/_set/_add): pySigma-pipeline-windows'
  audit pipeline (event id, OperationType condition, renames, fields 4657 cannot carry) and the
  Kusto backend's SecurityEvent mapping; 5156, 4663 and 4657 for registry_delete from the hand
  tables of .security. *Mapped*: the event names fields its own way, and a rule runs through it
  with the renames (Image -> NewProcessName), reading only the fields it carries.

Fields carried (casefolded Sigma names): the category's fields of SigmaHQ's logsource.json for a
native event (None when it lists none: every field counts as carried); for a Security event, each
Sigma name that is, or is renamed to, a field of the event's schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from catalog.core.reference import event_tables

from . import pipelines, security


@dataclass(frozen=True)
class Source:
    """An event that can back a log category."""

    category: str
    provider: str  # a Sigma service name: sysmon, security, powershell, ...
    event_id: int | None  # None: the whole channel
    fields: frozenset[str] | None  # the Sigma fields it carries (casefolded); None: not known, all count
    renames: tuple[tuple[str, str], ...] = ()  # (Sigma field, event field), for a mapped event
    conditions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (event field, values one of which it holds)
    mapped: bool = False  # the event names its fields its own way (Security audit events)

    @property
    def token(self) -> str:
        return f"{self.provider}:{'*' if self.event_id is None else self.event_id}"

    def carries(self, field: str) -> bool:
        folded = field.casefold()
        return self.fields is None or folded in self.fields or folded in pipelines.common_fields()


@cache
def security_renames() -> dict[int, dict[str, str]]:
    """Sigma field -> Security event field, per event id: the audit pipeline's, the Kusto backend's for
    4688, and the hand tables' for 5156 and 4663."""
    found = pipelines.audit_renames()
    general = found["general"]
    return {
        4688: {**pipelines.azure_security_renames(), **general},
        4657: {**general, **found["registry"]},
        5156: dict(security.HAND_MAPPINGS[5156]),
        4663: dict(security.HAND_MAPPINGS[4663]),
    }


def _unsupported(event_id: int) -> frozenset[str]:
    return pipelines.registry_unsupported() if event_id == 4657 else frozenset()


def security_fields(category: str, event_id: int) -> frozenset[str]:
    """The Sigma fields of `category` that Security `event_id` carries (casefolded)."""
    schema = security.SECURITY_SCHEMAS[event_id]
    renames = security_renames()[event_id]
    unsupported = _unsupported(event_id)
    names = set(pipelines.category_field_names(category)) | set(renames) | schema
    return frozenset(
        name.casefold()
        for name in names
        if name not in unsupported and (renames.get(name) in schema or (name in schema and name not in renames))
    )


def _security_source(category: str, event_id: int, conditions) -> Source:
    schema = security.SECURITY_SCHEMAS[event_id]
    unsupported = _unsupported(event_id)
    renames = tuple(
        sorted(
            (sigma, native)
            for sigma, native in security_renames()[event_id].items()
            if native in schema and sigma != native and sigma not in unsupported
        )
    )
    return Source(category, "security", event_id, security_fields(category, event_id), renames, conditions, True)


@cache
def category_sources() -> dict[str, tuple[Source, ...]]:
    """Windows category -> the events that can back it, native ones first."""
    table: dict[str, list[Source]] = {}

    def add(source: Source) -> None:
        sources = table.setdefault(source.category, [])
        if all((s.provider, s.event_id) != (source.provider, source.event_id) for s in sources):
            sources.append(source)

    sysmon = dict(pipelines.sysmon_categories())
    for category, (provider, ids) in event_tables.EXTRA_WINDOWS_CATEGORIES.items():
        if provider == "Sysmon":
            sysmon[category] = tuple(dict.fromkeys(sysmon.get(category, ()) + ids))
    for category, ids in sysmon.items():
        for event_id in ids:
            add(Source(category, "sysmon", event_id, pipelines.category_fields(category)))
    for category, (service, event_id) in pipelines.channel_categories().items():
        add(Source(category, service, event_id, pipelines.category_fields(category)))
    for category, (event_id, conditions) in {**security.HAND_CATEGORIES, **pipelines.audit_categories()}.items():
        add(_security_source(category, event_id, conditions))
    return {category: tuple(sources) for category, sources in table.items()}


@cache
def mapped_sources() -> dict[tuple[str, int | None], tuple[Source, ...]]:
    """(provider slug, event id) -> the mapped sources it is, one per category it can back."""
    found: dict[tuple[str, int | None], list[Source]] = {}
    for sources in category_sources().values():
        for source in sources:
            if source.mapped:
                found.setdefault((source.provider, source.event_id), []).append(source)
    return {key: tuple(sources) for key, sources in found.items()}


@cache
def native_categories() -> dict[tuple[str, int | None], tuple[str, ...]]:
    """(provider slug, event id) -> the categories it backs natively, in table order."""
    found: dict[tuple[str, int | None], list[str]] = {}
    for category, sources in category_sources().items():
        for source in sources:
            if not source.mapped:
                found.setdefault((source.provider, source.event_id), []).append(category)
    return {key: tuple(categories) for key, categories in found.items()}


# An event id several categories share is inferred as the one that covers them all (Sysmon 12: registry_add,
# registry_delete and registry_event; the rules run are chosen by event coverage, not by this name).
_SHOWN = {("sysmon", 12): "registry_event", ("sysmon", 14): "registry_event"}


def category_of(provider: str, event_id: int | None) -> str:
    """The category a provider slug's event backs natively, as matching infers it ("" when none)."""
    if event_id is None:
        return ""
    categories = native_categories().get((provider, event_id), ())
    return _SHOWN.get((provider, event_id), categories[0] if categories else "")
