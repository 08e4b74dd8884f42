"""A logged event seen as the category a mapped event backs: a Security 4688 as process_creation.

Matching (catalog.matching) runs a category's rules through each mapped event the taxonomy gives it
(catalog.core.taxonomy.sources), as the conversion pipelines would query it:

* `backs(source, event)`: the event meets the conditions the audit pipeline adds (4657's
  OperationType for registry_set / registry_add / registry_event / registry_delete);
* `translate(source, event)`: the event with the Sigma names of its renamed fields (NewProcessName
  read as Image, SubjectLogonId as LogonId, NewProcessId as ProcessId); an event field whose name is
  a renamed Sigma field (4688's own ProcessId, the creator's) is hidden behind the rename; a value the
  event logs as a code is read as the Sigma field holds it (5156's Direction "%%14593" as Initiated
  "true", security.VALUE_CODES);
* `renamed_from(source, event)`: Sigma field (lowercase) -> the event's own key it was read from,
  for explanations ("Image (NewProcessName)");
* a field the event does not carry is *unknown* to the evaluator (catalog.core.sigma.values.EventView
  `carried`), not absent: `not filter` on OriginalFileName decides nothing on a 4688.
"""

from __future__ import annotations

from .names import event_title, provider_name
from .pipelines import common_fields
from .security import OPERATION_CODES, VALUE_CODES
from .sources import Source, mapped_sources


def candidates(provider: str, event_id: int | None) -> tuple[Source, ...]:
    """The mapped sources an event of that provider slug and id can be, one per category."""
    return mapped_sources().get((provider, event_id), ())


def _lowered(event: dict) -> dict[str, str]:
    return {key.lower(): key for key in event}


def backs(source: Source, event: dict) -> bool:
    """Whether the event meets the source's conditions (each field holds one of its values)."""
    if not source.conditions:
        return True
    lowered = _lowered(event)
    for name, values in source.conditions:
        key = lowered.get(name.lower())
        value = str(event[key]).strip() if key is not None and event[key] is not None else ""
        value = OPERATION_CODES.get(value, value).casefold()
        if value not in {v.casefold() for v in values}:
            return False
    return True


def renamed_from(source: Source, event: dict) -> dict[str, str]:
    """Sigma field (lowercase) -> the event's key it is read from, for the renames the event has."""
    lowered = _lowered(event)
    found = {}
    for sigma, native in source.renames:
        key = lowered.get(native.lower())
        if key is not None:
            found[sigma.lower()] = key
    return found


def translate(source: Source, event: dict) -> dict:
    """The event as the source's category names its fields and values (see the module docstring)."""
    shadowed = {sigma.lower() for sigma, _ in source.renames}
    translated = {key: value for key, value in event.items() if key.lower() not in shadowed}
    for sigma, key in renamed_from(source, event).items():
        translated[_spelled(source, sigma)] = event[key]
    codes = VALUE_CODES.get(source.event_id) if source.event_id is not None else None
    if codes:
        lowered = _lowered(translated)
        for sigma, table in codes.items():
            key = lowered.get(sigma.lower())
            if key is not None and translated[key] is not None:
                translated[key] = table.get(str(translated[key]).strip().casefold(), translated[key])
    return translated


def _spelled(source: Source, lowered: str) -> str:
    return next(sigma for sigma, _ in source.renames if sigma.lower() == lowered)


def carried(source: Source) -> frozenset[str] | None:
    """The fields (lowercase) a rule may read on the event; None: every field."""
    if source.fields is None:
        return None
    return frozenset(source.fields | common_fields())


def describe(source: Source) -> dict:
    """What an explanation or an API answer says about a mapped run (JSON-ready)."""
    return {
        "event": source.token,
        "provider": provider_name(source.provider),
        "event_id": source.event_id,
        "title": event_title(source.provider, source.event_id),
        "category": source.category,
        "renames": [[sigma, native] for sigma, native in source.renames],
    }
