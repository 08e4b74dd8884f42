"""Re-importing a source from the admin: where its rules came from, and the command's report.

A source's rules are stored with paths '<root folder name>/<relative path>'. The re-import must
hand `import_paths` those same root folders, or every rule would appear moved. Source.location
is a folder on the way (the importer records the folder of its first file), so the roots are
found from it: the nearest folder, at or above `location`, that holds the rules' first path
segments. A source imported from several sibling folders (SigmaHQ's rules, rules-emerging-threats,
...) gets all of them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from catalog.importing.importer import ImportReport, import_paths
from catalog.models import Source


class ReimportError(Exception):
    """The source cannot be re-imported (no location, or its folders are gone)."""


def source_roots(source: Source) -> list[str]:
    recorded = [root for root in source.roots if Path(root).exists()]
    if recorded:  # the folders the importer was given, as it recorded them
        return recorded
    if not source.location:
        raise ReimportError(f"source {source.name!r} has no location to import from")
    location = Path(source.location)
    paths = list(source.rules.values_list("path", flat=True).distinct()[:100000])
    segments = sorted({p.split("/", 1)[0] for p in paths if p})
    if not segments:  # nothing imported yet: the location is the root
        if not location.exists():
            raise ReimportError(f"location {location} of source {source.name!r} does not exist")
        return [str(location)]
    for folder in [location, *location.parents]:
        found = [folder / s for s in segments if (folder / s).exists()]
        if found:
            return [str(p) for p in found]
    raise ReimportError(
        f"cannot find the folders {', '.join(segments)} of source {source.name!r} at or above {location}"
    )


@dataclass
class Reimport:
    source: Source
    roots: list[str]
    report: ImportReport | None = None
    error: str = ""

    @property
    def lines(self) -> list[str]:
        """What `import_rules` prints: one line per problem, then the summary."""
        if self.error:
            return [self.error]
        return [f"{p} [{p.severity}]" for p in self.report.problems] + [self.report.summary()]


def reimport(source: Source) -> Reimport:
    try:
        roots = source_roots(source)
    except ReimportError as exc:
        return Reimport(source, [], error=str(exc))
    return Reimport(source, roots, import_paths(roots, source=source.name))
