"""The write path: rule files -> one transaction -> rows, corpus counts and an import report.

An import runs in this order: find the files (files.py), read the changed ones, parse them in
worker processes (preparing.py, pool.py), decide per rule whether it is new, changed, unchanged
or a duplicate (here), write (writer.py) while parsing goes on, retire the rules whose files are
gone, and publish the changes once (catalog.publishing.visibility.deferred: one recount, one version bump).

Unchanged files are skipped by their hash, so a re-import of the same tree writes nothing.
Everything happens inside one transaction: if anything fails midway, the catalog is exactly as
it was before.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog.conversion.stored import limits as limits_from_settings
from catalog.core.sigma.problems import ERROR
from catalog.importing import test_events
from catalog.importing.bulk_upkeep import (
    ANALYZE_AFTER,
    gc_skips_what_came_before,
    merge_full_text_segments,
    refresh_statistics,
    vacuum_rules,
)
from catalog.importing.existing import CatalogState, FileKey
from catalog.importing.files import FileScan, RejectedFile, RuleFile, UnreadableFile, find_rule_files, read_rule_file
from catalog.importing.naming import SourceNaming
from catalog.importing.preparing import PreparedFile, PrepareItem, prepare_files
from catalog.importing.preparing import file_hash as hash_of_file
from catalog.importing.provenance import COMMITS_KEPT, NO_PROVENANCE, Provenance
from catalog.importing.report import ImportFailed, ImportReport
from catalog.importing.writer import RuleToCreate, RuleToUpdate, RuleWriter
from catalog.models import ImportRun, Indicator, Rule, Source
from catalog.publishing.visibility import deferred, publish, set_visibility

log = logging.getLogger(__name__)
WRITE_BATCH = 500  # rules per write while parsing goes on
IMPORT_LOCK = 0x5167_6D61  # any fixed number: one lock shared by every import of this catalog


def import_paths(
    paths: list[str],
    source: str | None = None,
    strict: bool = False,
    progress: Callable[[Iterable, int], Iterable] | None = None,
    fail_after: int | None = None,
    provenance: Provenance = NO_PROVENANCE,
) -> ImportReport:
    """Import rule files into the catalog in one transaction and return the report.

    `fail_after` exists for tests: it raises after that many rules are written, to prove rollback.
    `provenance`: the commit a git source's sync read the files at (catalog/importing/provenance.py).
    """
    report = ImportReport()
    try:
        with gc_skips_what_came_before(), transaction.atomic():
            _serialize_imports()
            naming = SourceNaming(source)  # after the lock: the sources as the previous import left them
            scan = find_rule_files(paths, naming.name_of, report)
            with deferred():  # corpus counts and the catalog version: once, when the import is done
                written = _ImportRun(scan, report, progress, fail_after, naming, provenance).run()
                if written >= ANALYZE_AFTER:
                    refresh_statistics()  # before publishing: its counts are planned from these statistics
                    merge_full_text_segments()
            if strict and report.errors:
                raise ImportFailed(report)
        if written >= ANALYZE_AFTER:
            vacuum_rules()
            prepare_lists()
    except ImportFailed:
        report.rolled_back = True
        report.run_id = None
    return report


def prepare_lists() -> None:
    """Build the new catalog version's rule index and champion lists in the importing process, and store them
    (catalog.platform.version_files): the web processes then load them in milliseconds, where the first list or
    search after a large import built them (at 20x SigmaHQ 2.7 s and 2-7 s)."""
    from catalog.browse.queries import broad_words, rule_index

    try:
        rule_index.current()
        broad_words.KEPT.current()
    except Exception:  # the import is committed: a failure here costs the first list a build, never the import
        log.exception("The new catalog version's rule index and champion lists were left to the first list")


def _serialize_imports() -> None:
    """One import at a time: a second one waits for the first to commit, then sees its rows.

    SQLite already allows a single writer; on PostgreSQL two imports could otherwise both insert
    the same new indicator and one would fail on the unique key.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])


class PendingFile(NamedTuple):
    """A file that changed since the last import: read, hashed, waiting for its parse."""

    file: RuleFile
    file_hash: str
    data: bytes


class _ImportRun:
    def __init__(
        self, scan: FileScan, report: ImportReport, progress, fail_after, naming: SourceNaming, provenance: Provenance
    ):
        self.naming = naming
        self.provenance = provenance
        self.files = scan.files
        self.scan = scan
        self.report = report
        self.progress = progress or (lambda items, total: items)
        self.fail_after = fail_after
        self.now = timezone.now()
        self.seen: dict[str, str] = {}  # uuid -> display path that defined it in this run

    def run(self) -> int:
        """Import the files; return how many rules were written."""
        self.run_row = ImportRun.objects.create(
            started_at=self.now,
            paths=sorted({f.root for f in self.files}),
            sources=sorted({f.source for f in self.files}),
            commit=self.provenance.commit,
            previous_commit=self.provenance.previous,
            commits=list(self.provenance.commits[:COMMITS_KEPT]),
        )
        self.report.run_id = self.run_row.pk
        roots_by_name: dict[str, set[str]] = {}
        for rule_file in self.files:
            roots_by_name.setdefault(rule_file.source, set()).add(rule_file.root)
        self.naming.hand_over(roots_by_name)  # folders another source recorded come to this one (naming.py)
        self.sources = {name: self._source(name) for name in sorted({f.source for f in self.files})}
        self.run_row.source_rows.set(self.sources.values())  # /changes/?source=NAME
        self.catalog = CatalogState(list(self.sources.values()))
        writer = RuleWriter(self.run_row, self.sources, self.report, self.now, self.fail_after, self.provenance)
        to_create: list[RuleToCreate] = []
        to_update: list[RuleToUpdate] = []
        self.touch_file_hash: list[tuple[str, str]] = []  # (uuid, file hash): same rule, file bytes differ

        pending = [read for read in map(self._read, self.files) if read is not None]
        limits = limits_from_settings()  # the same limits pasted rules are read with
        items = [PrepareItem(p.data, p.file.display_path, limits) for p in pending]
        changed = False
        with prepare_files(items, settings.CATALOG_IMPORT_FILE_SECONDS) as prepared:
            for number, result in enumerate(self.progress(prepared, len(pending))):
                file = pending[number]
                pending[number] = items[number] = None  # its bytes are parsed: not held to the end (20x: 100 MB)
                self._sort(file, result, to_create, to_update)
                if len(to_create) + len(to_update) >= WRITE_BATCH:
                    # Written while the workers parse on: SQL and parsing overlap.
                    changed |= writer.write(to_create, to_update)
                    to_create, to_update = [], []
                    gc.collect(1)  # collector off (bulk_upkeep), writes leave cycles (120 MB, 20x PG): walks the young
        changed |= writer.write(to_create, to_update)
        for uuid, file_hash in self.touch_file_hash:
            Rule.objects.filter(uuid=uuid).update(file_hash=file_hash)
        if changed:
            Indicator.objects.filter(rule_indicators__isnull=True).delete()  # orphans of changed rules
            publish()  # counts and version; deferred to the end of the import
        self._retire_missing()
        for source_row in self.sources.values():
            source_row.last_imported_at = self.now
            source_row.save(update_fields=["last_imported_at"])
            if test_events.refresh(source_row):  # regression_data beside the rule folders (catalog/matching_files)
                publish()  # the "has test events" facet counts
        self._finish_run()
        return writer.written

    def _source(self, name: str) -> Source:
        """The source row, remembering every folder imported under its name (for re-imports)."""
        roots = sorted({f.root for f in self.files if f.source == name})
        source_row, _ = Source.objects.get_or_create(name=name, defaults={"location": roots[0] if roots else ""})
        known = sorted(set(source_row.roots) | set(roots))
        if known != source_row.roots:
            source_row.roots = known
            source_row.save(update_fields=["roots"])
        return source_row

    def _file_key(self, rule_file: RuleFile) -> FileKey:
        return FileKey(self.sources[rule_file.source].pk, rule_file.display_path)

    def _read(self, rule_file: RuleFile) -> PendingFile | None:
        """The file if it needs parsing; None when it is unchanged or cannot be read."""
        report = self.report
        report.files_read += 1
        key = self._file_key(rule_file)
        try:
            data = read_rule_file(rule_file.path, settings.CATALOG_MAX_FILE_BYTES)
        except (UnreadableFile, RejectedFile) as exc:
            report.error(rule_file.display_path, 0, str(exc))
            if isinstance(exc, UnreadableFile):
                self.scan.read_failed(rule_file.source, rule_file.root_name)
            self._keep_rules_of(key, rule_file)
            return None
        digest = hash_of_file(data)
        if self.catalog.unchanged_file(key, digest):
            for uuid in self.catalog.uuids_by_file[key]:
                self._claim(uuid, rule_file)
                report.unchanged += 1
            return None
        return PendingFile(rule_file, digest, data)

    def _sort(self, pending: PendingFile, result: PreparedFile, to_create, to_update) -> None:
        """Decide, per rule of a parsed file, whether it is new, changed, unchanged or a duplicate."""
        report, rule_file = self.report, pending.file
        source_row = self.sources[rule_file.source]
        report.problems.extend(result.problems)
        if any(problem.severity == ERROR for problem in result.problems):  # a skipped non-rule document is no error
            self._keep_rules_of(self._file_key(rule_file), rule_file)
        for prepared in result.rules:
            for line, message in prepared.warnings:
                report.warning(rule_file.display_path, prepared.doc_line + line - 1, message)
            if not prepared.matchable:
                report.not_matchable += 1
            if prepared.uuid in self.seen:
                first = self.seen[prepared.uuid]
                message = f"duplicate id {prepared.uuid}: already defined in {first} (the first file wins)"
                report.error(rule_file.display_path, prepared.doc_line, message)
                continue
            known = self.catalog.rules.get(prepared.uuid)
            if known is None:
                elsewhere = self.catalog.foreign.get(prepared.uuid)
                if elsewhere is not None and not elsewhere.retired:
                    message = f"duplicate id {prepared.uuid}: already defined in {elsewhere.place}"
                    report.error(rule_file.display_path, prepared.doc_line, message)
                    continue
                self.seen[prepared.uuid] = rule_file.display_path
                if elsewhere is None:
                    to_create.append(RuleToCreate(prepared, rule_file, pending.file_hash))
                else:  # a retired rule of another source comes back here
                    to_update.append(RuleToUpdate(prepared, rule_file, pending.file_hash, elsewhere.pk, True))
                continue
            self.seen[prepared.uuid] = rule_file.display_path
            same_place = known.path == rule_file.display_path and known.source_id == source_row.pk
            if known.content_hash == prepared.content_hash and same_place and not known.retired:
                report.unchanged += 1
                if known.file_hash != pending.file_hash:
                    self.touch_file_hash.append((prepared.uuid, pending.file_hash))
            else:
                to_update.append(RuleToUpdate(prepared, rule_file, pending.file_hash, known.pk, known.retired))

    def _claim(self, uuid: str, rule_file: RuleFile) -> None:
        self.seen.setdefault(uuid, rule_file.display_path)

    def _keep_rules_of(self, key: FileKey, rule_file: RuleFile) -> None:
        """A file that now fails keeps its last good rules (never lose data on bad input)."""
        for uuid in self.catalog.uuids_by_file.get(key, []):
            self._claim(uuid, rule_file)

    def _retire_missing(self) -> None:
        """Rules of the imported folders whose files are gone: retired (kept), never deleted.

        Not under a root where something could not be read: the rule may be in what was unreadable.
        """
        imported_roots = {(self.sources[f.source].pk, f.root_name): f.source for f in self.files}
        blocked = {(self.sources[s].pk, root) for s, root in self.scan.unreadable_roots if s in self.sources}
        gone, kept = [], {}
        for uuid, rule in self.catalog.rules.items():
            if rule.retired or uuid in self.seen or rule.root_key not in imported_roots:
                continue
            if rule.root_key in blocked:
                kept[rule.root_key] = kept.get(rule.root_key, 0) + 1
            else:
                gone.append(rule)
        for (source_name, root_name), failures in sorted(self.scan.unreadable_roots.items()):
            key = (self.sources[source_name].pk, root_name) if source_name in self.sources else None
            also = f"; {kept[key]} rules whose files were not found are kept" if kept.get(key) else ""
            message = f"{failures} read error(s) under this folder: no rule under it is retired by this import{also}"
            self.report.warning(root_name, 0, message)
        if gone:
            pks = [rule.pk for rule in gone]
            set_visibility(Rule.objects.filter(pk__in=pks), retired=True, last_changed_run=self.run_row)
            self.report.retired += len(gone)
            self.report.changes["retired"].extend(rule.uuid for rule in gone)

    def _finish_run(self) -> None:
        report, run = self.report, self.run_row
        run.finished_at = timezone.now()
        run.files_read = report.files_read
        run.created, run.updated = report.created, report.updated
        run.unchanged, run.retired = report.unchanged, report.retired
        run.warning_count, run.error_count = len(report.warnings), len(report.errors)
        run.problems = [p.as_dict() for p in report.problems]
        run.changes = report.changes
        run.save()
