"""The write path: rule files -> one transaction -> rows, corpus counts and an import report.

Unchanged files are skipped by their hash, so a re-import of the same tree writes nothing.
Curation fields are never in the column lists written here. Everything happens inside one
transaction: if anything fails midway, the catalog is exactly as it was before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from catalog.importing.bulk import chunks, insert_rows
from catalog.importing.preparing import ENCODED_COLUMNS, PreparedFile, PreparedRule, all_indicators, prepare_files
from catalog.importing.preparing import file_hash as hash_of_file
from catalog.models import (
    CatalogVersion,
    EventType,
    ImportRun,
    Indicator,
    Predicate,
    Rule,
    RuleIndicator,
    RuleReference,
    RuleVersion,
    Source,
    Stage,
    Tactic,
    Technique,
    tag_text,
)
from catalog.reference import attack
from catalog.sigma.loading import Limits
from catalog.sigma.problems import ERROR, WARNING, Problem
from catalog.visibility import recount_corpus

RULE_EXTENSIONS = (".yml", ".yaml")
WRITE_BATCH = 500  # rules per write while parsing goes on
# The Sigma columns an import writes; curation columns (models.CURATION_FIELDS) are never listed.
SIGMA_FIELDS = [
    "title",
    "rule_type",
    "name",
    "status",
    "level",
    "description",
    "author",
    "date",
    "modified",
    "license",
    "references",
    "falsepositives",
    "tags",
    "related",
    "product",
    "category",
    "service",
    "logsource",
    "other_fields",
    "conditions",
    "condition_tree",
    "correlation",
    "filter_rules",
    "warnings",
    "source",
    "path",
    "doc_line",
    "yaml_text",
    "content_hash",
    "file_hash",
    "id_derived",
    "retired",
    "search_text",
    "tag_text",
    "last_changed_run",
]


class ImportFailed(Exception):
    """Raised inside the transaction to roll it back (e.g. --strict with errors)."""

    def __init__(self, report: ImportReport):
        super().__init__("import rolled back")
        self.report = report


@dataclass
class RuleFile:
    path: Path  # on disk
    display_path: str  # stored and reported: '<root folder name>/<relative path>'
    source: str
    root: str  # the folder (or file) given to the import


@dataclass
class ImportReport:
    files_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    problems: list[Problem] = field(default_factory=list)
    run_id: int | None = None
    rolled_back: bool = False
    changes: dict = field(default_factory=lambda: {"created": [], "updated": [], "retired": []})

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def summary(self) -> str:
        return (
            f"{self.files_read} files read; rules: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.retired} retired; "
            f"{len(self.warnings)} warnings, {len(self.errors)} errors"
            + ("; ROLLED BACK, the catalog is unchanged" if self.rolled_back else "")
        )


def find_rule_files(paths: Iterable[str], source: str | None, report: ImportReport) -> list[RuleFile]:
    """Every .yml/.yaml file under the given paths, in a stable (sorted) order."""
    files: list[RuleFile] = []
    for given in paths:
        root = Path(given).expanduser()
        if not root.exists():
            report.problems.append(Problem(str(given), 0, "path does not exist"))
            continue
        root = root.resolve()
        source_name = source or root.name
        if root.is_file():
            files.append(RuleFile(root, root.name, source_name, str(root)))
            continue
        found = []
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in filenames:
                if filename.lower().endswith(RULE_EXTENSIONS):
                    full = Path(directory) / filename
                    found.append(
                        RuleFile(full, f"{root.name}/{full.relative_to(root).as_posix()}", source_name, str(root))
                    )
        files.extend(sorted(found, key=lambda f: f.display_path))
    return files


def _limits() -> Limits:
    return Limits(
        max_bytes=settings.CATALOG_MAX_FILE_BYTES,
        max_depth=settings.CATALOG_MAX_YAML_DEPTH,
        max_nodes=settings.CATALOG_MAX_YAML_NODES,
    )


def import_paths(
    paths: list[str],
    source: str | None = None,
    strict: bool = False,
    progress: Callable[[Iterable, int], Iterable] | None = None,
    fail_after: int | None = None,
) -> ImportReport:
    """Import rule files into the catalog in one transaction and return the report.

    `fail_after` exists for tests: it raises after that many rules are written, to prove rollback.
    """
    report = ImportReport()
    files = find_rule_files(paths, source, report)
    try:
        with transaction.atomic():
            _serialize_imports()
            _Importer(files, report, progress, fail_after).run()
            if strict and report.errors:
                raise ImportFailed(report)
    except ImportFailed:
        report.rolled_back = True
        report.run_id = None
    return report


ANALYZE_AFTER = 500  # rules written, from which the planner's statistics are refreshed
IMPORT_LOCK = 0x5167_6D61  # any fixed number: one lock shared by every import of this catalog


def _serialize_imports() -> None:
    """One import at a time: a second one waits for the first to commit, then sees its rows.

    SQLite already allows a single writer; on PostgreSQL two imports could otherwise both insert
    the same new indicator and one would fail on the unique key.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])


def _refresh_statistics() -> None:
    """PostgreSQL plans from table statistics; right after a bulk load they describe empty tables
    and the rule page's queries run 10x slower until autovacuum catches up (measured: 10 ms vs 0.7 ms)."""
    if connection.vendor == "postgresql":
        tables = [m._meta.db_table for m in (Rule, Stage, Predicate, Indicator, RuleIndicator, RuleReference)]
        tables += [
            Rule.tactics.through._meta.db_table,
            Rule.techniques.through._meta.db_table,
            Rule.events.through._meta.db_table,
        ]
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


class _Importer:
    def __init__(self, files, report, progress, fail_after):
        self.files = files
        self.report = report
        self.progress = progress or (lambda items, total: items)
        self.fail_after = fail_after
        self.now = timezone.now()

    # -- orchestration -------------------------------------------------------------------------
    def run(self) -> None:
        report = self.report
        self.run_row = ImportRun.objects.create(
            started_at=self.now,
            paths=sorted({f.root for f in self.files}),
            sources=sorted({f.source for f in self.files}),
        )
        report.run_id = self.run_row.pk
        self.sources = {name: self._source(name) for name in sorted({f.source for f in self.files})}
        existing = list(
            Rule.objects.filter(source__in=self.sources.values()).values_list(
                "pk", "uuid", "path", "content_hash", "file_hash", "retired", "source_id"
            )
        )
        self.by_uuid = {str(u): (pk, path, h, fh, retired, sid) for pk, u, path, h, fh, retired, sid in existing}
        # Ids held by other sources: a clash with a live rule there is an error naming both places.
        self.other_sources = {
            str(u): (pk, retired, f"{source_name}:{path}")
            for pk, u, retired, source_name, path in Rule.objects.exclude(source__in=self.sources.values()).values_list(
                "pk", "uuid", "retired", "source__name", "path"
            )
        }
        self.file_hashes: dict[tuple[int, str], set[str]] = {}
        self.uuids_by_file: dict[tuple[int, str], list[str]] = {}
        for _pk, u, path, _h, fh, retired, sid in existing:
            if not retired:
                self.file_hashes.setdefault((sid, path), set()).add(fh)
                self.uuids_by_file.setdefault((sid, path), []).append(str(u))
        self.seen: dict[str, str] = {}  # uuid -> display path that defined it in this run
        to_create: list[tuple[PreparedRule, RuleFile, str]] = []
        to_update: list[tuple[PreparedRule, RuleFile, str, int]] = []
        touch_file_hash: list[tuple[str, str]] = []
        self.refs: _ReferenceData | None = None
        self.written = 0
        changed = False

        pending = []  # (rule file, file hash, bytes) of the files that changed
        for rule_file in self.files:
            read = self._read(rule_file)
            if read is not None:
                pending.append((rule_file, *read))
        limits = _limits()
        prepared = prepare_files([(data, rule_file.display_path, limits) for rule_file, _, data in pending])
        for (rule_file, digest, _), result in zip(pending, self.progress(prepared, len(pending)), strict=True):
            self._sort(rule_file, digest, result, to_create, to_update, touch_file_hash)
            if len(to_create) + len(to_update) >= WRITE_BATCH:
                # Written while the workers parse on: SQL and parsing overlap.
                changed |= self._write(to_create, to_update)
                to_create, to_update = [], []
        changed |= self._write(to_create, to_update)
        for uuid, file_hash in touch_file_hash:
            Rule.objects.filter(uuid=uuid).update(file_hash=file_hash)
        changed |= self._retire_missing()
        if changed:
            self._recount()
            CatalogVersion.bump()  # cached pages of every worker are stale from now on
            if self.written >= ANALYZE_AFTER:
                _refresh_statistics()
        for source_row in self.sources.values():
            source_row.last_imported_at = self.now
            source_row.save(update_fields=["last_imported_at"])
        self._finish_run()

    def _source(self, name: str) -> Source:
        """The source row, remembering every folder imported under its name (for re-imports)."""
        roots = sorted({f.root for f in self.files if f.source == name})
        source_row, _ = Source.objects.get_or_create(name=name, defaults={"location": roots[0] if roots else ""})
        known = sorted(set(source_row.roots) | set(roots))
        if known != source_row.roots:
            source_row.roots = known
            source_row.save(update_fields=["roots"])
        return source_row

    def _read(self, rule_file: RuleFile) -> tuple[str, bytes] | None:
        """(hash, bytes) of a file that needs parsing; None when it is unchanged or unreadable."""
        report = self.report
        report.files_read += 1
        try:
            data = rule_file.path.read_bytes()
        except OSError as exc:
            report.problems.append(Problem(rule_file.display_path, 0, f"cannot read file: {exc.strerror}"))
            return None
        digest = hash_of_file(data)
        key = (self.sources[rule_file.source].pk, rule_file.display_path)
        if self.file_hashes.get(key) == {digest}:
            # The file is byte-for-byte what the catalog holds: nothing to parse or write.
            for uuid in self.uuids_by_file[key]:
                self._claim(uuid, rule_file)
                report.unchanged += 1
            return None
        return digest, data

    def _sort(self, rule_file: RuleFile, file_hash: str, result: PreparedFile, to_create, to_update, touch_file_hash):
        """Decide, per rule of a parsed file, whether it is new, changed, unchanged or a duplicate."""
        report = self.report
        source_row = self.sources[rule_file.source]
        key = (source_row.pk, rule_file.display_path)
        report.problems.extend(result.problems)
        if result.problems:
            self._keep_rules_of(key, rule_file)
        for prepared in result.rules:
            for line, message in prepared.warnings:
                report.problems.append(Problem(rule_file.display_path, prepared.doc_line + line - 1, message, WARNING))
            if prepared.uuid in self.seen:
                report.problems.append(
                    Problem(
                        rule_file.display_path,
                        prepared.doc_line,
                        f"duplicate id {prepared.uuid}: already defined in {self.seen[prepared.uuid]}"
                        " (the first file wins)",
                    )
                )
                continue
            known = self.by_uuid.get(prepared.uuid)
            if known is None:
                elsewhere = self.other_sources.get(prepared.uuid)
                self.seen[prepared.uuid] = rule_file.display_path
                if elsewhere is None:
                    to_create.append((prepared, rule_file, file_hash))
                elif elsewhere[1]:  # a retired rule of another source comes back here
                    to_update.append((prepared, rule_file, file_hash, elsewhere[0]))
                else:
                    del self.seen[prepared.uuid]
                    report.problems.append(
                        Problem(
                            rule_file.display_path,
                            prepared.doc_line,
                            f"duplicate id {prepared.uuid}: already defined in {elsewhere[2]}",
                        )
                    )
                continue
            pk, path, content_hash, old_file_hash, was_retired, source_id = known
            self.seen[prepared.uuid] = rule_file.display_path
            same_place = path == rule_file.display_path and source_id == source_row.pk
            if content_hash == prepared.content_hash and same_place and not was_retired:
                report.unchanged += 1
                if old_file_hash != file_hash:
                    touch_file_hash.append((prepared.uuid, file_hash))
            else:
                to_update.append((prepared, rule_file, file_hash, pk))

    def _claim(self, uuid: str, rule_file: RuleFile) -> None:
        self.seen.setdefault(uuid, rule_file.display_path)

    def _keep_rules_of(self, key, rule_file: RuleFile) -> None:
        """A file that now fails keeps its last good rules (never lose data on bad input)."""
        for uuid in self.uuids_by_file.get(key, []):
            self._claim(uuid, rule_file)

    # -- writing -------------------------------------------------------------------------------
    def _write(self, to_create, to_update) -> bool:
        if not to_create and not to_update:
            return False
        if self.refs is None:
            self.refs = _ReferenceData()
        refs = self.refs
        written: list[tuple[int, PreparedRule]] = []
        if to_create:
            # New rules go straight from prepared values to rows: no model instances (3,800 of
            # them cost more than their INSERT), JSON already encoded by the worker processes.
            columns = ["uuid", "created_at", "updated_at", *_CURATION_DEFAULTS, *_insert_columns()]
            ids = insert_rows(
                Rule,
                columns,
                [self._new_row(columns, *item) for item in to_create],
                returning=True,
                encoded=ENCODED_RULE_COLUMNS,
            )
            written += [(pk, prepared) for pk, (prepared, _, _) in zip(ids, to_create, strict=True)]
            self.report.created += len(to_create)
            self.report.changes["created"].extend(p.uuid for p, _, _ in to_create)

        updated = []
        if to_update:
            pks = [pk for *_, pk in to_update]
            rules = Rule.objects.in_bulk(pks)
            # History is about the rule as written: a re-derivation by a newer parser (same YAML) keeps none.
            new_text = {pk: prepared.columns["yaml_text"] for prepared, _, _, pk in to_update}
            self._keep_versions([rule for pk, rule in rules.items() if rule.yaml_text != new_text[pk]])
            self._delete_children(pks)
            for prepared, rule_file, file_hash, pk in to_update:
                rule = rules[pk]
                self._fill(rule, prepared, rule_file, file_hash)
                updated.append((rule, prepared))
            Rule.objects.bulk_update([r for r, _ in updated], SIGMA_FIELDS + ["updated_at"], batch_size=500)
            self.report.updated += len(updated)
            self.report.changes["updated"].extend(p.uuid for _, p in updated)
            written += [(rule.pk, prepared) for rule, prepared in updated]

        self.written += len(written)
        if self.fail_after is not None and self.written >= self.fail_after:
            raise RuntimeError(f"injected failure after writing {self.written} rules")
        self._write_children(written, refs)
        return True

    def _new_row(self, columns: list[str], prepared: PreparedRule, rule_file: RuleFile, file_hash: str) -> tuple:
        values = {
            **_CURATION_DEFAULTS_ENCODED,
            **prepared.columns,
            **prepared.encoded,
            "uuid": prepared.uuid,
            "created_at": self.now,
            "updated_at": self.now,
            "source_id": self.sources[rule_file.source].pk,
            "path": rule_file.display_path,
            "file_hash": file_hash,
            "retired": False,
            "last_changed_run_id": self.run_row.pk,
            "tag_text": tag_text(json.loads(prepared.encoded["tags"])),
        }
        return tuple(values[column] for column in columns)

    def _fill(self, rule: Rule, prepared: PreparedRule, rule_file: RuleFile, file_hash: str) -> None:
        for name, value in prepared.columns.items():
            setattr(rule, name, value)
        for name, text in prepared.encoded.items():
            setattr(rule, name, json.loads(text))
        rule.source = self.sources[rule_file.source]
        rule.path = rule_file.display_path
        rule.file_hash = file_hash
        rule.retired = False
        rule.last_changed_run = self.run_row
        rule.updated_at = self.now
        # Curation is read (never written) so local tags keep applying to the new Sigma tags.
        rule.refresh_tag_text()

    def _keep_versions(self, rules) -> None:
        pks = [r.pk for r in rules]
        indicators: dict[int, list[str]] = {}
        for rule_id, fld, kind, display in RuleIndicator.objects.filter(rule_id__in=pks).values_list(
            "rule_id", "indicator__field", "indicator__kind", "written"
        ):
            indicators.setdefault(rule_id, []).append(f"{fld}|{kind}|{display}")
        RuleVersion.objects.bulk_create(
            [
                RuleVersion(
                    rule=r,
                    import_run=self.run_row,
                    title=r.title,
                    yaml_text=r.yaml_text,
                    content_hash=r.content_hash,
                    indicators=indicators.get(r.pk, []),
                )
                for r in rules
            ]
        )

    def _delete_children(self, pks: list[int]) -> None:
        for chunk in chunks(pks, 500):
            RuleIndicator.objects.filter(rule_id__in=chunk).delete()
            Predicate.objects.filter(rule_id__in=chunk).delete()
            Stage.objects.filter(rule_id__in=chunk).delete()
            RuleReference.objects.filter(rule_id__in=chunk).delete()
            for through in (Rule.tactics.through, Rule.techniques.through, Rule.events.through):
                through.objects.filter(rule_id__in=chunk).delete()

    def _write_children(self, written: list[tuple[int, PreparedRule]], refs: _ReferenceData) -> None:
        stage_keys = [(pk, stage[0]) for pk, prepared in written for stage in prepared.stages]
        stage_pks = insert_rows(
            Stage,
            ["rule_id", "index", "name", "text", "combine"],
            [(pk, *stage) for pk, prepared in written for stage in prepared.stages],
            returning=True,
        )
        stage_ids = dict(zip(stage_keys, stage_pks, strict=True))
        indicator_ids = refs.indicator_ids(prepared for _, prepared in written)
        predicate_rows, rule_indicator_rows = [], []
        tactic_rows, technique_rows, event_rows, reference_rows = [], [], [], []
        for pk, prepared in written:
            predicate_rows += [(stage_ids[(pk, p[0])], pk, *p[1:]) for p in prepared.predicates]
            rule_indicator_rows += [
                (pk, indicator_ids[row[0]], row[6], position) for position, row in enumerate(prepared.indicators)
            ]
            reference_rows += [(pk, *reference) for reference in prepared.references]
            tactic_rows += [(pk, refs.tactic_id(t)) for t in prepared.tactics]
            technique_rows += [(pk, refs.technique_id(t)) for t in prepared.techniques]
            event_rows += [(pk, refs.event_id(*event)) for event in prepared.events]
        insert_rows(
            Predicate,
            ["stage_id", "rule_id", "position", "group", "field", "modifiers", "values", "combine"],
            predicate_rows,
            encoded={"modifiers", "values"},
        )
        insert_rows(RuleIndicator, ["rule_id", "indicator_id", "written", "position"], rule_indicator_rows)
        insert_rows(RuleReference, ["rule_id", "kind", "relation", "target"], reference_rows)
        insert_rows(Rule.tactics.through, ["rule_id", "tactic_id"], sorted(set(tactic_rows)))
        insert_rows(Rule.techniques.through, ["rule_id", "technique_id"], sorted(set(technique_rows)))
        insert_rows(Rule.events.through, ["rule_id", "eventtype_id"], sorted(set(event_rows)))

    def _retire_missing(self) -> bool:
        """Rules of the imported folders whose files are gone: retired (kept), never deleted."""
        prefixes = {(self.sources[f.source].pk, f.display_path.split("/")[0]) for f in self.files}
        gone = []
        for uuid, (pk, path, _h, _fh, retired, source_id) in self.by_uuid.items():
            if retired or uuid in self.seen:
                continue
            if (source_id, path.split("/")[0]) in prefixes:
                gone.append((pk, uuid))
        if not gone:
            return False
        Rule.objects.filter(pk__in=[pk for pk, _ in gone]).update(retired=True, last_changed_run=self.run_row)
        self.report.retired += len(gone)
        self.report.changes["retired"].extend(uuid for _, uuid in gone)
        return True

    def _recount(self) -> None:
        Indicator.objects.filter(rule_indicators__isnull=True).delete()  # orphans of changed rules
        recount_corpus()

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


class _ReferenceData:
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

    def indicator_ids(self, prepared_rules: Iterable[PreparedRule]) -> dict[str, int]:
        """Ids of the indicators these rules carry, creating the new ones."""
        wanted = all_indicators(prepared_rules)
        if self.indicators is None:
            # A big import reads every existing key once; a small one looks up only its own.
            self.all_loaded = len(wanted) > 2000 or not Indicator.objects.exists()
            self.indicators = dict(Indicator.objects.values_list("key", "pk")) if self.all_loaded else {}
        known = self.indicators
        if not self.all_loaded:
            lookup = [k for k in wanted if k not in known]
            for chunk in chunks(lookup, 500):
                known.update(Indicator.objects.filter(key__in=chunk).values_list("key", "pk"))
        missing = [k for k in wanted if k not in known]
        new_ids = insert_rows(
            Indicator,
            ["key", "field", "kind", "value", "transforms", "cased", "display", "corpus_count"],
            [(*wanted[k], 0) for k in missing],
            returning=True,
        )
        known.update(zip(missing, new_ids, strict=True))
        return known


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


_CURATION_DEFAULTS = {
    "note": "",
    "verified": False,
    "verified_by": "",
    "verified_at": None,
    "hidden": False,
    "local_tags_added": [],
    "local_tags_removed": [],
    "level_override": "",
    "fp_note": "",
}


# JSON columns that arrive encoded: the worker processes encode the Sigma ones (PreparedRule.encoded).
ENCODED_RULE_COLUMNS = frozenset(
    [*ENCODED_COLUMNS, *(name for name, value in _CURATION_DEFAULTS.items() if isinstance(value, list))]
)
_CURATION_DEFAULTS_ENCODED = {
    name: json.dumps(value) if isinstance(value, list) else value for name, value in _CURATION_DEFAULTS.items()
}


def _insert_columns() -> list[str]:
    return [Rule._meta.get_field(name).attname for name in SIGMA_FIELDS]
