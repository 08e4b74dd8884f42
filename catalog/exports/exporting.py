"""Stream a filtered rule list as one SIEM's import file, with a report of what could not be converted.

Memory stays flat for any number of rules: the rule ids are read through a database cursor, a
chunk at a time, and the rules in batches with only the fields an export needs, converted through
the query cache, written and forgotten. The format's header is the first thing produced, before
any rule is read, so the first byte of a download leaves at once. Every rule that cannot be
converted, or that the format cannot carry, is named in the report (and in the file's closing
lines), never skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice

from catalog.conversion.converter import Choice
from catalog.conversion.formats import FORMATS, Failure
from catalog.conversion.records import EXPORT_FIELDS, ExportRecord
from catalog.conversion.stored import iter_rule_queries
from catalog.conversion.targets import NO_PIPELINE, registry
from catalog.models import Rule

BATCH = 200


@dataclass
class ExportReport:
    exported: int = 0
    failures: list[Failure] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [failure.line() for failure in self.failures]


def export_rules(
    rule_ids: Callable[[], Iterable[int]],
    format_id: str,
    choice: Choice,
    url_for: Callable[[str], str],
    report: ExportReport | None = None,
) -> Iterator[str]:
    """The export file in pieces. `rule_ids` gives the pks in export order (called after the header)."""
    report = report if report is not None else ExportReport()
    choice = canonical_choice(choice)  # one cache entry per set of pipelines, however it was spelt
    writer = FORMATS[format_id](choice.target.id, choice.versions)
    yield writer.header()
    ids = iter(rule_ids())
    while batch_ids := list(islice(ids, BATCH)):
        rules = Rule.objects.filter(pk__in=batch_ids).only(*EXPORT_FIELDS).prefetch_related("tactics", "techniques")
        by_pk = {rule.pk: rule for rule in rules}
        batch = [by_pk[pk] for pk in batch_ids if pk in by_pk]  # a rule deleted meanwhile is gone
        for rule, conversion in iter_rule_queries(batch, choice):
            record = ExportRecord.from_rule(rule, url_for(str(rule.uuid)))
            problem = writer.check(record, conversion.queries) if conversion.query is not None else ""
            if conversion.query is None or problem:
                report.failures.append(Failure(record.uuid, record.title, conversion.errors or [problem]))
                continue
            report.exported += 1
            yield writer.rule(record, conversion.queries[0])
    yield writer.footer(report.exported, report.failures)


def ordered_ids(queryset) -> Iterator[int]:
    """A filtered rule queryset's pks in title order (the order of /rules/ without a sort), read in chunks."""
    return queryset.order_by("sort_title", "pk").values_list("pk", flat=True).distinct().iterator(chunk_size=2000)


def canonical_choice(choice: Choice) -> Choice:
    """The choice with its pipelines in the order pySigma applies them (priority, then id, as
    Registry.processing_pipeline merges them): `sysmon,splunk_windows` and `splunk_windows,sysmon` convert
    alike, so they share one cache entry and one stored export."""
    pipelines = registry().pipelines
    ordered = tuple(sorted(choice.pipelines, key=lambda p: (pipelines[p].priority, p)))
    return choice if ordered == choice.pipelines else replace(choice, pipelines=ordered)


def pipeline_spelling(choice: Choice) -> str:
    """How a URL names the choice's pipelines (`none` for none)."""
    return ",".join(choice.pipelines) or NO_PIPELINE
