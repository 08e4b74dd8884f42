"""Writing prepared rules as rows: new rules, changed rules (keeping their previous version) and their children.

Only the Sigma columns are written (SIGMA_FIELDS). Curation columns are never listed, and neither
are `hidden` and `retired`: a new row takes the model's defaults for every column not listed, and a
retired rule that comes back is un-retired through catalog.publishing.visibility, the one writer of both.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from catalog.importing.bulk import chunks, insert_rows
from catalog.importing.files import RuleFile
from catalog.importing.preparing import ENCODED_COLUMNS
from catalog.importing.provenance import NO_PROVENANCE, Provenance
from catalog.importing.references import ReferenceData
from catalog.importing.report import ImportReport
from catalog.importing.rows import PreparedRule
from catalog.models import (
    ImportRun,
    Predicate,
    Rule,
    RuleIndicator,
    RuleReference,
    RuleVersion,
    Source,
    Stage,
    tag_text,
)
from catalog.publishing.visibility import set_visibility
from catalog.search import index as search_index

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
    "findings",
    "quality",
    "source",
    "path",
    "doc_line",
    "yaml_text",
    "content_hash",
    "file_hash",
    "id_derived",
    "search_text",
    "tag_text",
    "last_changed_run",
    "commit",
]


class RuleToCreate(NamedTuple):
    prepared: PreparedRule
    file: RuleFile
    file_hash: str


class RuleToUpdate(NamedTuple):
    prepared: PreparedRule
    file: RuleFile
    file_hash: str
    pk: int
    was_retired: bool  # its file is back: the rule is un-retired


class RuleWriter:
    """Writes batches of new and changed rules for one import run."""

    def __init__(
        self,
        run: ImportRun,
        sources: dict[str, Source],
        report: ImportReport,
        now,
        fail_after=None,
        provenance: Provenance = NO_PROVENANCE,
    ):
        self.run, self.sources, self.report, self.now = run, sources, report, now
        self.provenance = provenance  # the commit of each file, when a git source's sync imports
        self.fail_after = fail_after  # tests: raise after this many rules, to prove the rollback
        self.written = 0
        self.refs: ReferenceData | None = None
        self.hidden_by_curator: set[int] = set()  # changed rules a curator hid
        self.new_columns = ["uuid", "created_at", "updated_at", *(_attname(name) for name in SIGMA_FIELDS)]
        # Every other column (curation, visibility) starts at its model default, as Rule() would;
        # JSON ones encoded once here rather than once per row.
        others = [
            f
            for f in Rule._meta.concrete_fields
            if not f.primary_key and not f.generated and f.attname not in self.new_columns
        ]
        self.defaults = {
            f.attname: json.dumps(f.get_default()) if f.get_internal_type() == "JSONField" else f.get_default()
            for f in others
        }
        self.encoded = frozenset(ENCODED_COLUMNS) | {f.attname for f in others if f.get_internal_type() == "JSONField"}
        self.new_columns += list(self.defaults)

    def write(self, to_create: list[RuleToCreate], to_update: list[RuleToUpdate]) -> bool:
        """Write one batch; False when there was nothing to write."""
        if not to_create and not to_update:
            return False
        if self.refs is None:
            self.refs = ReferenceData()
        written = self._create(to_create) + self._update(to_update)
        self.written += len(written)
        if self.fail_after is not None and self.written >= self.fail_after:
            raise RuntimeError(f"injected failure after writing {self.written} rules")
        self._write_children(written)
        return True

    def _create(self, to_create: list[RuleToCreate]) -> list[tuple[int, PreparedRule]]:
        if not to_create:
            return []
        # New rules go straight from prepared values to rows: no model instances (3,800 of
        # them cost more than their INSERT), JSON already encoded by the worker processes.
        ids = insert_rows(
            Rule, self.new_columns, [self._new_row(item) for item in to_create], returning=True, encoded=self.encoded
        )
        self.report.created += len(to_create)
        self.report.changes["created"].extend(item.prepared.uuid for item in to_create)
        return [(pk, item.prepared) for pk, item in zip(ids, to_create, strict=True)]

    def _new_row(self, item: RuleToCreate) -> tuple:
        prepared = item.prepared
        values = {
            **self.defaults,
            **prepared.columns,
            **prepared.encoded,
            "uuid": prepared.uuid,
            "created_at": self.now,
            "updated_at": self.now,
            "source_id": self.sources[item.file.source].pk,
            "path": item.file.display_path,
            "file_hash": item.file_hash,
            "last_changed_run_id": self.run.pk,
            "commit": self.provenance.commit_of(item.file.display_path),
            "tag_text": tag_text(json.loads(prepared.encoded["tags"])),
        }
        return tuple(values[column] for column in self.new_columns)

    def _update(self, to_update: list[RuleToUpdate]) -> list[tuple[int, PreparedRule]]:
        if not to_update:
            return []
        pks = [item.pk for item in to_update]
        rules = Rule.objects.in_bulk(pks)
        self.hidden_by_curator |= {
            pk for pk, rule in rules.items() if rule.hidden
        }  # by a curator: not in corpus counts
        # History is about the rule as written: a re-derivation by a newer parser (same YAML) keeps none.
        new_text = {item.pk: item.prepared.columns["yaml_text"] for item in to_update}
        new_path = {item.pk: item.file.display_path for item in to_update}
        self._keep_versions([rule for pk, rule in rules.items() if rule.yaml_text != new_text[pk]], new_path)
        self._delete_children(pks)
        for item in to_update:
            self._fill(rules[item.pk], item)
        Rule.objects.bulk_update([rules[pk] for pk in pks], SIGMA_FIELDS + ["updated_at"], batch_size=500)
        came_back = [item.pk for item in to_update if item.was_retired]
        if came_back:
            set_visibility(Rule.objects.filter(pk__in=came_back), retired=False)
        self.report.updated += len(to_update)
        self.report.changes["updated"].extend(item.prepared.uuid for item in to_update)
        return [(item.pk, item.prepared) for item in to_update]

    def _fill(self, rule: Rule, item: RuleToUpdate) -> None:
        for name, value in item.prepared.columns.items():
            setattr(rule, name, value)
        for name, text in item.prepared.encoded.items():
            setattr(rule, name, json.loads(text))
        rule.source = self.sources[item.file.source]
        rule.path = item.file.display_path
        rule.file_hash = item.file_hash
        rule.last_changed_run = self.run
        rule.commit = self.provenance.commit_of(item.file.display_path)
        rule.updated_at = self.now
        # Curation is read (never written) so local tags keep applying to the new Sigma tags.
        rule.refresh_tag_text()

    def _keep_versions(self, rules: list[Rule], new_path: dict[int, str]) -> None:
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
                    import_run=self.run,
                    title=r.title,
                    yaml_text=r.yaml_text,
                    content_hash=r.content_hash,
                    indicators=indicators.get(r.pk, []),
                    commit=self.provenance.commit_of(new_path[r.pk]),
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

    def _write_children(self, written: list[tuple[int, PreparedRule]]) -> None:
        refs = self.refs
        stage_keys = [(pk, stage.index) for pk, prepared in written for stage in prepared.stages]
        stage_pks = insert_rows(
            Stage,
            ["rule_id", "index", "name", "text", "combine"],
            [(pk, *stage) for pk, prepared in written for stage in prepared.stages],
            returning=True,
        )
        stage_ids = dict(zip(stage_keys, stage_pks, strict=True))
        visible = [prepared for pk, prepared in written if pk not in self.hidden_by_curator]
        indicator_ids = refs.indicator_ids([prepared for _, prepared in written], visible)
        refs.add_events(event for _, prepared in written for event in prepared.events)
        predicate_rows, rule_indicator_rows = [], []
        tactic_rows, technique_rows, event_rows, reference_rows = [], [], [], []
        for pk, prepared in written:
            predicate_rows += [
                (
                    stage_ids[(pk, p.stage_index)],
                    pk,
                    p.position,
                    p.group,
                    p.field,
                    p.modifiers,
                    p.values,
                    p.combine,
                    p.polarity,
                )
                for p in prepared.predicates
            ]
            rule_indicator_rows += [
                (pk, indicator_ids[row.key], row.display, position, row.polarity)
                for position, row in enumerate(prepared.indicators)
            ]
            reference_rows += [(pk, *reference) for reference in prepared.references]
            tactic_rows += [(pk, refs.tactic_id(t)) for t in prepared.tactics]
            technique_rows += [(pk, refs.technique_id(t)) for t in prepared.techniques]
            event_rows += [(pk, refs.event_id(*event)) for event in prepared.events]
        insert_rows(
            Predicate,
            ["stage_id", "rule_id", "position", "group", "field", "modifiers", "values", "combine", "polarity"],
            predicate_rows,
            encoded={"modifiers", "values"},
        )
        insert_rows(RuleIndicator, ["rule_id", "indicator_id", "written", "position", "polarity"], rule_indicator_rows)
        insert_rows(RuleReference, ["rule_id", "kind", "relation", "target"], reference_rows)
        insert_rows(Rule.tactics.through, ["rule_id", "tactic_id"], sorted(set(tactic_rows)))
        insert_rows(Rule.techniques.through, ["rule_id", "technique_id"], sorted(set(technique_rows)))
        insert_rows(Rule.events.through, ["rule_id", "eventtype_id"], sorted(set(event_rows)))
        search_index.refresh(pk for pk, _ in written)  # the search documents read the rows just written


def _attname(name: str) -> str:
    return Rule._meta.get_field(name).attname
