"""What the catalog already holds, read once at the start of an import to decide what each file means."""

from __future__ import annotations

from typing import NamedTuple

from catalog.models import Rule, Source


class FileKey(NamedTuple):
    source_id: int
    path: str  # display path


class ExistingRule(NamedTuple):
    """A rule of one of the sources being imported."""

    pk: int
    uuid: str
    path: str
    content_hash: str
    file_hash: str
    retired: bool
    source_id: int

    @property
    def root_key(self) -> tuple[int, str]:
        """(source, root folder name): the scope an import retires missing rules in."""
        return self.source_id, self.path.split("/", 1)[0]


class ForeignRule(NamedTuple):
    """A rule of another source: its id may not be reused here while it is live."""

    pk: int
    retired: bool
    place: str  # '<source>:<path>', for the error message


class CatalogState:
    def __init__(self, sources: list[Source]):
        self.rules: dict[str, ExistingRule] = {
            str(row[1]): ExistingRule(row[0], str(row[1]), *row[2:])
            for row in Rule.objects.filter(source__in=sources).values_list(
                "pk", "uuid", "path", "content_hash", "file_hash", "retired", "source_id"
            )
        }
        self.foreign: dict[str, ForeignRule] = {
            str(u): ForeignRule(pk, retired, f"{source_name}:{path}")
            for pk, u, retired, source_name, path in Rule.objects.exclude(source__in=sources).values_list(
                "pk", "uuid", "retired", "source__name", "path"
            )
        }
        # The live rules of each file, and the hashes of the file they were read from.
        self.file_hashes: dict[FileKey, set[str]] = {}
        self.uuids_by_file: dict[FileKey, list[str]] = {}
        for rule in self.rules.values():
            if not rule.retired:
                key = FileKey(rule.source_id, rule.path)
                self.file_hashes.setdefault(key, set()).add(rule.file_hash)
                self.uuids_by_file.setdefault(key, []).append(rule.uuid)

    def unchanged_file(self, key: FileKey, file_hash: str) -> bool:
        """The file is byte-for-byte what the catalog holds: nothing to parse or write."""
        return self.file_hashes.get(key) == {file_hash}
