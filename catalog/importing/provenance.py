"""Where an import's files came from, when a git source's sync runs it (catalog/importing/syncing.py).

The importer records it on the import run (the commit imported, the one before, the commits between), on
each rule it writes (the commit its content comes from) and on each version it keeps (the commit that
changed the rule). A plain `import_rules` has none: every field stays empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

COMMITS_KEPT = 50  # commits listed per import run (the newest); the rest are counted in the range


@dataclass(frozen=True)
class Provenance:
    commit: str = ""
    previous: str = ""
    commits: tuple[dict, ...] = ()  # [{sha, subject, author, date}], newest first
    # display path ('<root name>/<path below it>') -> the newest commit of the range that touched the file
    file_commits: Mapping[str, str] = field(default_factory=dict)

    def commit_of(self, display_path: str) -> str:
        """The commit that made the file what this import read: the newest that touched it, else the tip."""
        return self.file_commits.get(display_path, self.commit)


NO_PROVENANCE = Provenance()
