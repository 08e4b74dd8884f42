"""Rules run through a mapped event: a Security 4688 runs the process_creation rules, read with the renames.

The log source of a Windows event lists the categories the taxonomy maps it to (`LogSource.mapped`,
catalog.matching.logsources, conditions checked: 4657's OperationType). Each one's rules run on the
event as that category names its fields (catalog.core.taxonomy.mapping.translate: NewProcessName read as
Image, ParentProcessName as ParentImage, SubjectLogonId as LogonId...), with their own literal index,
and a field the event does not carry is unknown to the evaluator (a `not filter` on OriginalFileName
decides nothing on a 4688). A rule found this way is reported with the source it ran through, so its
explanation reads the event the same way ("Image (NewProcessName)").
"""

from __future__ import annotations

from catalog.core.sigma.evaluate import matches
from catalog.core.sigma.values import EventView
from catalog.core.taxonomy import Source, mapping

from .compiled import Candidate, CompiledCatalog, EventFacts
from .logsources import LogSource


def view_for(event: dict, source: Source, like: EventView | None = None) -> EventView:
    """The event seen as `source`'s category; deadline, regex budget and mode taken from `like`."""
    translated = mapping.translate(source, event)
    if like is None:
        return EventView(translated, carried=mapping.carried(source), renamed=mapping.renamed_from(source, event))
    return EventView(
        translated,
        like.deadline,
        like.regexes,
        plain=like.plain,
        carried=mapping.carried(source),
        renamed=mapping.renamed_from(source, event),
    )


def hits(
    catalog: CompiledCatalog, event: dict, log_source: LogSource, like: EventView, indexed: bool = True
) -> list[tuple[Candidate, Source]]:
    """The rules of the event's mapped categories that fire on it, each with the source it ran through."""
    found = []
    for source in log_source.mapped:
        view = view_for(event, source, like)
        pool = catalog.mapped_pool(source)
        for candidate in catalog.candidates_for(view.event, EventFacts.of(view.event), pool, indexed):
            if matches(candidate.compiled, view):
                found.append((candidate, source))
    return found


def through(rule, via: dict[int, Source] | None, log_source: LogSource | None) -> Source | None:
    """The mapped source a rule is explained through: the one it fired through, else (a "why not" rule)
    the event's mapped source of the rule's category, else None (the event as it is)."""
    if via and rule.pk in via:
        return via[rule.pk]
    if log_source is not None and rule.product.casefold() == "windows":
        return next((s for s in log_source.mapped if s.category == rule.category.casefold()), None)
    return None
