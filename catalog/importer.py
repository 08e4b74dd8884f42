"""The write path: rule files -> one transaction -> rows, corpus counts and an import report.

Unchanged files are skipped by their hash, so a re-import of the same tree writes nothing.
Curation fields are never in the column lists written here. Everything happens inside one
transaction: if anything fails midway, the catalog is exactly as it was before.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import attack
from .events import events_for
from .models import (
    EventType, ImportRun, Indicator, Predicate, Rule, RuleIndicator, RuleReference, RuleVersion, Source, Stage,
    Tactic, Technique,
)
from .sigma.loading import Limits
from .sigma.model import IndicatorKey, ParsedRule
from .sigma.parsing import parse_file
from .sigma.problems import ERROR, WARNING, Problem, RuleFileError

# Bump when parsing or normalization changes, so the next import re-derives every rule.
PARSER_VERSION = "1"
RULE_EXTENSIONS = (".yml", ".yaml")
# The Sigma columns an import writes; curation columns (models.CURATION_FIELDS) are never listed.
SIGMA_FIELDS = [
    "title", "rule_type", "name", "status", "level", "description", "author", "date", "modified",
    "license", "references", "falsepositives", "tags", "related", "product", "category", "service",
    "logsource", "other_fields", "conditions", "condition_tree", "correlation", "filter_rules",
    "warnings", "source", "path", "doc_line", "yaml_text", "content_hash", "file_hash", "id_derived",
    "retired", "search_text", "tag_text", "last_changed_run",
]


class ImportFailed(Exception):
    """Raised inside the transaction to roll it back (e.g. --strict with errors)."""

    def __init__(self, report: "ImportReport"):
        super().__init__("import rolled back")
        self.report = report


@dataclass
class RuleFile:
    path: Path  # on disk
    display_path: str  # stored and reported: '<root folder name>/<relative path>'
    source: str


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
            files.append(RuleFile(root, root.name, source_name))
            continue
        found = []
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in filenames:
                if filename.lower().endswith(RULE_EXTENSIONS):
                    full = Path(directory) / filename
                    found.append(RuleFile(full, f"{root.name}/{full.relative_to(root).as_posix()}", source_name))
        files.extend(sorted(found, key=lambda f: f.display_path))
    return files


def _limits() -> Limits:
    return Limits(
        max_bytes=settings.CATALOG_MAX_FILE_BYTES,
        max_depth=settings.CATALOG_MAX_YAML_DEPTH,
        max_nodes=settings.CATALOG_MAX_YAML_NODES,
    )


def _sha(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


def indicator_key(key: IndicatorKey) -> str:
    return _sha(key.field, key.kind, key.value, key.transforms, "1" if key.cased else "0")


def rule_hash(parsed: ParsedRule) -> str:
    return _sha(PARSER_VERSION, parsed.yaml_text, parsed.uuid, json.dumps(parsed.logsource, sort_keys=True))


def import_paths(
    paths: list[str],
    source: str | None = None,
    strict: bool = False,
    progress: Callable[[Iterable], Iterable] | None = None,
    fail_after: int | None = None,
) -> ImportReport:
    """Import rule files into the catalog in one transaction and return the report.

    `fail_after` exists for tests: it raises after that many rules are written, to prove rollback.
    """
    report = ImportReport()
    files = find_rule_files(paths, source, report)
    try:
        with transaction.atomic():
            _Importer(files, report, progress, fail_after).run()
            if strict and report.errors:
                raise ImportFailed(report)
    except ImportFailed:
        report.rolled_back = True
        report.run_id = None
    return report


class _Importer:
    def __init__(self, files, report, progress, fail_after):
        self.files = files
        self.report = report
        self.progress = progress or (lambda items: items)
        self.fail_after = fail_after
        self.now = timezone.now()

    # -- orchestration -------------------------------------------------------------------------
    def run(self) -> None:
        report = self.report
        self.run_row = ImportRun.objects.create(
            started_at=self.now,
            paths=sorted({str(f.path.parent) for f in self.files})[:50],
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
            for pk, u, retired, source_name, path in Rule.objects.exclude(
                source__in=self.sources.values()
            ).values_list("pk", "uuid", "retired", "source__name", "path")
        }
        self.file_hashes: dict[tuple[int, str], set[str]] = {}
        self.uuids_by_file: dict[tuple[int, str], list[str]] = {}
        for pk, u, path, h, fh, retired, sid in existing:
            if not retired:
                self.file_hashes.setdefault((sid, path), set()).add(fh)
                self.uuids_by_file.setdefault((sid, path), []).append(str(u))
        self.seen: dict[str, str] = {}  # uuid -> display path that defined it in this run
        to_create: list[tuple[ParsedRule, RuleFile, str]] = []
        to_update: list[tuple[ParsedRule, RuleFile, str, int]] = []
        touch_file_hash: list[tuple[str, str]] = []

        for rule_file in self.progress(self.files):
            self._read(rule_file, to_create, to_update, touch_file_hash)

        changed = self._write(to_create, to_update)
        for uuid, file_hash in touch_file_hash:
            Rule.objects.filter(uuid=uuid).update(file_hash=file_hash)
        changed |= self._retire_missing()
        if changed:
            self._recount()
        for name, source_row in self.sources.items():
            source_row.last_imported_at = self.now
            source_row.save(update_fields=["last_imported_at"])
        self._finish_run()

    def _source(self, name: str) -> Source:
        roots = sorted({str(f.path.parent) for f in self.files if f.source == name})
        source_row, _ = Source.objects.get_or_create(name=name, defaults={"location": roots[0] if roots else ""})
        return source_row

    def _read(self, rule_file: RuleFile, to_create, to_update, touch_file_hash) -> None:
        report = self.report
        report.files_read += 1
        try:
            data = rule_file.path.read_bytes()
        except OSError as exc:
            report.problems.append(Problem(rule_file.display_path, 0, f"cannot read file: {exc.strerror}"))
            return
        file_hash = _sha(PARSER_VERSION, data)
        source_row = self.sources[rule_file.source]
        key = (source_row.pk, rule_file.display_path)
        if self.file_hashes.get(key) == {file_hash}:
            # The file is byte-for-byte what the catalog holds: nothing to parse or write.
            for uuid in self.uuids_by_file[key]:
                self._claim(uuid, rule_file)
                report.unchanged += 1
            return
        try:
            parsed_rules, problems = parse_file(data, rule_file.display_path, _limits())
        except RuleFileError as exc:
            report.problems.append(Problem(rule_file.display_path, exc.line, exc.message))
            self._keep_rules_of(key, rule_file)
            return
        report.problems.extend(problems)
        if problems:
            self._keep_rules_of(key, rule_file)
        for parsed in parsed_rules:
            for line, message in parsed.warnings:
                report.problems.append(Problem(rule_file.display_path, parsed.doc_line + line - 1, message, WARNING))
            if parsed.uuid in self.seen:
                report.problems.append(Problem(
                    rule_file.display_path, parsed.doc_line,
                    f"duplicate id {parsed.uuid}: already defined in {self.seen[parsed.uuid]} (the first file wins)",
                ))
                continue
            known = self.by_uuid.get(parsed.uuid)
            if known is None:
                elsewhere = self.other_sources.get(parsed.uuid)
                self.seen[parsed.uuid] = rule_file.display_path
                if elsewhere is None:
                    to_create.append((parsed, rule_file, file_hash))
                elif elsewhere[1]:  # a retired rule of another source comes back here
                    to_update.append((parsed, rule_file, file_hash, elsewhere[0]))
                else:
                    del self.seen[parsed.uuid]
                    report.problems.append(Problem(
                        rule_file.display_path, parsed.doc_line,
                        f"duplicate id {parsed.uuid}: already defined in {elsewhere[2]}",
                    ))
                continue
            pk, path, content_hash, old_file_hash, was_retired, source_id = known
            self.seen[parsed.uuid] = rule_file.display_path
            same_place = path == rule_file.display_path and source_id == source_row.pk
            if content_hash == rule_hash(parsed) and same_place and not was_retired:
                report.unchanged += 1
                if old_file_hash != file_hash:
                    touch_file_hash.append((parsed.uuid, file_hash))
            else:
                to_update.append((parsed, rule_file, file_hash, pk))

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
        refs = _ReferenceData()
        new_rules = []
        for parsed, rule_file, file_hash in to_create:
            rule = Rule(uuid=parsed.uuid)
            self._fill(rule, parsed, rule_file, file_hash)
            new_rules.append((rule, parsed))
        if new_rules:
            columns = ["uuid", "created_at", "updated_at", *_CURATION_DEFAULTS, *_insert_columns()]
            insert_rows(Rule, columns, [
                (rule.uuid, self.now, self.now, *_CURATION_DEFAULTS.values(), *(_column_value(rule, c) for c in _insert_columns()))
                for rule, _ in new_rules
            ])
            ids = self._rule_ids([p.uuid for _, p in new_rules])
            for rule, parsed in new_rules:
                rule.pk = ids[parsed.uuid]
            self.report.created += len(new_rules)
            self.report.changes["created"].extend(p.uuid for _, p in new_rules)

        updated = []
        if to_update:
            pks = [pk for *_, pk in to_update]
            rules = Rule.objects.in_bulk(pks)
            self._keep_versions(rules.values())
            self._delete_children(pks)
            for parsed, rule_file, file_hash, pk in to_update:
                rule = rules[pk]
                self._fill(rule, parsed, rule_file, file_hash)
                updated.append((rule, parsed))
            Rule.objects.bulk_update([r for r, _ in updated], SIGMA_FIELDS + ["updated_at"], batch_size=500)
            self.report.updated += len(updated)
            self.report.changes["updated"].extend(p.uuid for _, p in updated)

        written = new_rules + updated
        if self.fail_after is not None and len(written) >= self.fail_after:
            raise RuntimeError(f"injected failure after writing {len(written)} rules")
        self._write_children(written, refs)
        return True

    def _fill(self, rule: Rule, parsed: ParsedRule, rule_file: RuleFile, file_hash: str) -> None:
        rule.title = parsed.title[:500]
        rule.rule_type = parsed.rule_type
        rule.name = parsed.name[:200]
        rule.status = parsed.status[:32]
        rule.level = parsed.level[:32]
        rule.description = parsed.description
        rule.author = parsed.author
        rule.date = parsed.date
        rule.modified = parsed.modified
        rule.license = parsed.license[:200]
        rule.references = parsed.references
        rule.falsepositives = parsed.falsepositives
        rule.tags = parsed.tags
        rule.related = parsed.related
        rule.product = parsed.product[:100]
        rule.category = parsed.category[:100]
        rule.service = parsed.service[:100]
        rule.logsource = parsed.logsource
        rule.other_fields = parsed.other_fields
        rule.conditions = parsed.conditions
        rule.condition_tree = parsed.condition_tree
        rule.correlation = parsed.correlation
        rule.filter_rules = parsed.filter_rules
        rule.warnings = [{"line": parsed.doc_line + line - 1, "message": message} for line, message in parsed.warnings]
        rule.source = self.sources[rule_file.source]
        rule.path = rule_file.display_path
        rule.doc_line = parsed.doc_line
        rule.yaml_text = parsed.yaml_text
        rule.content_hash = rule_hash(parsed)
        rule.file_hash = file_hash
        rule.id_derived = parsed.id_derived
        rule.retired = False
        rule.last_changed_run = self.run_row
        rule.updated_at = self.now
        words = [parsed.title, parsed.description, parsed.author, parsed.uuid, parsed.name, *parsed.tags]
        words += [key.display for key in parsed.indicators()]
        rule.search_text = "\n".join(words).casefold()
        # Curation is read (never written) so local tags keep applying to the new Sigma tags.
        rule.refresh_tag_text()

    def _rule_ids(self, uuids: list[str]) -> dict[str, int]:
        if len(uuids) > 2000:
            rows = Rule.objects.values_list("uuid", "pk")
        else:
            rows = [r for chunk in _chunks(uuids, 500) for r in Rule.objects.filter(uuid__in=chunk).values_list("uuid", "pk")]
        return {str(u): pk for u, pk in rows}

    def _keep_versions(self, rules) -> None:
        pks = [r.pk for r in rules]
        indicators: dict[int, list[str]] = {}
        for rule_id, fld, kind, display in RuleIndicator.objects.filter(rule_id__in=pks).values_list(
            "rule_id", "indicator__field", "indicator__kind", "written"
        ):
            indicators.setdefault(rule_id, []).append(f"{fld}|{kind}|{display}")
        RuleVersion.objects.bulk_create([
            RuleVersion(
                rule=r, import_run=self.run_row, title=r.title, yaml_text=r.yaml_text,
                content_hash=r.content_hash, indicators=indicators.get(r.pk, []),
            )
            for r in rules
        ])

    def _delete_children(self, pks: list[int]) -> None:
        for chunk in _chunks(pks, 500):
            RuleIndicator.objects.filter(rule_id__in=chunk).delete()
            Predicate.objects.filter(rule_id__in=chunk).delete()
            Stage.objects.filter(rule_id__in=chunk).delete()
            RuleReference.objects.filter(rule_id__in=chunk).delete()
            for through in (Rule.tactics.through, Rule.techniques.through, Rule.events.through):
                through.objects.filter(rule_id__in=chunk).delete()

    def _write_children(self, written: list[tuple[Rule, ParsedRule]], refs: "_ReferenceData") -> None:
        stage_rows = []
        for rule, parsed in written:
            for stage in parsed.stages:
                stage_rows.append((rule.pk, stage.index, stage.name[:200], stage.text, stage.block_combine))
        insert_rows(Stage, ["rule_id", "index", "name", "text", "combine"], stage_rows)
        stage_ids = _stage_ids([rule.pk for rule, _ in written], len(stage_rows))

        indicator_ids = refs.indicator_ids(parsed for _, parsed in written)
        predicate_rows, rule_indicator_rows = [], []
        tactic_rows, technique_rows, event_rows, reference_rows = [], [], [], []
        for rule, parsed in written:
            reference_rows += [(rule.pk, RuleReference.CORRELATES, "", t.lower()) for t in parsed.correlation.get("rules", [])]
            reference_rows += [(rule.pk, RuleReference.FILTERS, "", t.lower()) for t in parsed.filter_rules]
            reference_rows += [(rule.pk, RuleReference.RELATED, r["type"][:32], r["id"].lower()) for r in parsed.related]
            position = 0
            seen_indicators = set()
            for stage in parsed.stages:
                stage_id = stage_ids[(rule.pk, stage.index)]
                for predicate in stage.predicates:
                    predicate_rows.append((
                        stage_id, rule.pk, predicate.position, predicate.group, predicate.field[:200],
                        predicate.modifiers, predicate.values, predicate.combine,
                    ))
                    for key in predicate.indicators:
                        indicator_id = indicator_ids[indicator_key(key)]
                        if indicator_id not in seen_indicators:
                            seen_indicators.add(indicator_id)
                            rule_indicator_rows.append((rule.pk, indicator_id, key.display, position))
                            position += 1
            rule_attack = attack.parse_tags(parsed.tags)
            tactic_rows += [(rule.pk, refs.tactic_id(t)) for t in rule_attack.tactics]
            technique_rows += [(rule.pk, refs.technique_id(t)) for t in rule_attack.techniques]
            event_ids = sorted(set(parsed.event_ids))
            for event in events_for(parsed.product, parsed.category, parsed.service, event_ids):
                event_rows.append((rule.pk, refs.event_id(event)))
        insert_rows(
            Predicate,
            ["stage_id", "rule_id", "position", "group", "field", "modifiers", "values", "combine"],
            predicate_rows,
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
        """Corpus count of every indicator in one aggregate UPDATE; orphans are dropped."""
        Indicator.objects.filter(rule_indicators__isnull=True).delete()
        live = (
            RuleIndicator.objects.filter(indicator=OuterRef("pk"), rule__retired=False)
            .order_by()
            .values("indicator")
            .annotate(n=Count("rule_id"))
            .values("n")
        )
        Indicator.objects.update(corpus_count=Coalesce(Subquery(live), 0))

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

    def tactic_id(self, shortname: str) -> int:
        if shortname not in self.tactics:
            t = self.data.tactic(shortname)
            self.tactics[shortname] = Tactic.objects.create(
                shortname=shortname, attack_id=t.attack_id, name=t.name, order=t.order, legacy=t.legacy
            ).pk
        return self.tactics[shortname]

    def technique_id(self, technique_id: str) -> int:
        if technique_id not in self.techniques:  # not in ATT&CK: kept, flagged unknown
            self.techniques[technique_id] = Technique.objects.create(
                technique_id=technique_id, name="", known=False
            ).pk
        return self.techniques[technique_id]

    def event_id(self, event) -> int:
        key = (event.provider, event.event_id)
        if key not in self.events:
            self.events[key] = EventType.objects.create(
                provider=event.provider, event_id=event.event_id, title=event.title
            ).pk
        return self.events[key]

    def indicator_ids(self, parsed_rules: Iterable[ParsedRule]) -> dict[str, int]:
        wanted: dict[str, IndicatorKey] = {}
        for parsed in parsed_rules:
            for key in parsed.indicators():
                wanted.setdefault(indicator_key(key), key)
        known: dict[str, int] = {}
        keys = list(wanted)
        if len(keys) > 2000:
            known = dict(Indicator.objects.values_list("key", "pk"))
        else:
            for chunk in _chunks(keys, 500):
                known.update(Indicator.objects.filter(key__in=chunk).values_list("key", "pk"))
        missing = [k for k in keys if k not in known]
        insert_rows(
            Indicator,
            ["field", "kind", "value", "transforms", "cased", "display", "key", "corpus_count"],
            [
                (w.field[:200], w.kind, w.value, w.transforms[:200], w.cased, w.display, k, 0)
                for k in missing
                for w in [wanted[k]]
            ],
        )
        for chunk in _chunks(missing, 500):
            known.update(Indicator.objects.filter(key__in=chunk).values_list("key", "pk"))
        return known


def ensure_attack_data(data: attack.AttackData) -> None:
    """Every ATT&CK tactic and technique exists as a row, so coverage gaps show too."""
    tactics = dict(Tactic.objects.values_list("shortname", "pk"))
    Tactic.objects.bulk_create([
        Tactic(shortname=t.shortname, attack_id=t.attack_id, name=t.name, order=t.order, legacy=t.legacy)
        for t in data.tactics.values()
        if t.shortname not in tactics
    ])
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


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stage_ids(rule_pks: list[int], expected: int) -> dict[tuple[int, int], int]:
    result = {}
    for chunk in _chunks(rule_pks, 500):
        for pk, rule_id, index in Stage.objects.filter(rule_id__in=chunk).values_list("pk", "rule_id", "index"):
            result[(rule_id, index)] = pk
    return result


_CURATION_DEFAULTS = {
    "note": "", "verified": False, "verified_by": "", "verified_at": None, "hidden": False,
    "local_tags_added": [], "local_tags_removed": [], "level_override": "", "fp_note": "",
}


def _insert_columns() -> list[str]:
    return [Rule._meta.get_field(name).attname for name in SIGMA_FIELDS]


def _column_value(rule: Rule, attname: str):
    return getattr(rule, attname)


def _converter(field):
    if field.get_internal_type() == "JSONField" and connection.vendor == "sqlite":
        return lambda value, _connection: json.dumps(value, default=str)  # what JSONField stores, minus overhead
    return field.get_db_prep_save


def insert_rows(model, columns: list[str], rows: list[tuple]) -> None:
    """Plain multi-row INSERTs for the bulk tables: model instances would cost more than the SQL.

    Values are converted by their model field (UUIDs, JSON, dates) exactly as Django would save them.
    """
    if not rows:
        return
    fields = [model._meta.get_field(c.removesuffix("_id")) if c.endswith("_id") and c != "uuid" else model._meta.get_field(c) for c in columns]
    converters = [(i, _converter(f)) for i, f in enumerate(fields)
                  if f.get_internal_type() in ("JSONField", "UUIDField", "DateField", "DateTimeField")]
    if converters:
        rows = [list(row) for row in rows]
        for row in rows:
            for i, convert in converters:
                row[i] = convert(row[i], connection)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_sql = ", ".join(quote(c) for c in columns)
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    batch = max(1, min(500, 900 // len(columns)))
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, batch):
            sql = f"INSERT INTO {table} ({column_sql}) VALUES " + ", ".join([per_row] * len(chunk))
            cursor.execute(sql, [value for row in chunk for value in row])
