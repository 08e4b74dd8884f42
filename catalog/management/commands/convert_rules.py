"""`manage.py convert_rules --target T [--pipeline P] [--format F] [filters] --output FILE`: a SIEM import file.

The filters are those of /rules/ (the same FilterSet); hidden rules are never exported and curators'
level overrides are used. Rules that cannot be converted are listed on standard error (and in the
file's closing report), one `id title: error` line each; `--strict` makes any of them an error exit.
"""

import contextlib
import os
import sys

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from catalog.browse.queries import rules as rule_queries
from catalog.conversion.converter import choose
from catalog.conversion.formats import FORMATS, bulk_format
from catalog.conversion.targets import UnknownChoice
from catalog.exports.exporting import ExportReport, export_rules, ordered_ids

# The /rules/ filters offered as options (name, repeatable).
FILTERS = [
    ("q", False),
    ("status", True),
    ("level", True),
    ("product", False),
    ("category", False),
    ("service", False),
    ("tactic", False),
    ("technique", False),
    ("tag", False),
    ("author", False),
    ("source", False),
    ("type", False),
    ("retired", False),
    ("verified", False),
]


class Command(BaseCommand):
    help = "Convert the catalog's rules (filtered like /rules/) into one SIEM's import file."

    def add_arguments(self, parser):
        parser.add_argument(
            "--target",
            required=True,
            help="a target (/api/targets/): splunk, lucene, esql, eql, kusto, sentinel, sentinel_asim, …",
        )
        parser.add_argument("--pipeline", default="", help="pipeline id(s), comma-separated; 'none' for none")
        parser.add_argument("--format", default="", help=f"export format: {', '.join(FORMATS)} (default: the target's)")
        parser.add_argument("--output", required=True, help="file to write ('-' for standard output)")
        parser.add_argument(
            "--base-url",
            default=os.environ.get("CATALOG_BASE_URL", "http://127.0.0.1:8000"),
            help="the catalog's address, for each rule's link (default: $CATALOG_BASE_URL or http://127.0.0.1:8000)",
        )
        parser.add_argument("--strict", action="store_true", help="exit with an error when any rule fails")
        for name, repeatable in FILTERS:
            parser.add_argument(f"--{name}", action="append" if repeatable else "store", help=f"/rules/ filter {name}")

    def handle(self, *args, **options):
        try:
            choice = choose(options["target"], options["pipeline"])
            export_format = bulk_format(choice.target.id, options["format"])
        except UnknownChoice as exc:
            raise CommandError(str(exc)) from None
        filterset = rule_queries.rule_filterset(self._filters(options))
        if not filterset.is_valid():
            problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
            raise CommandError(f"Invalid filter: {problems}")
        base = options["base_url"].rstrip("/")
        report = ExportReport()
        pieces = export_rules(
            lambda: ordered_ids(filterset.qs), export_format.id, choice, lambda uuid: f"{base}/rules/{uuid}/", report
        )
        output = options["output"]
        with open(output, "w", encoding="utf-8") if output != "-" else contextlib.nullcontext(self.stdout) as out:
            for piece in pieces:
                out.write(piece)
        where = "standard output" if output == "-" else output
        summary = (
            f"{report.exported} rules written to {where} ({export_format.label}; {choice.target.id}, "
            f"pipeline {choice.pipeline}; {choice.versions}); {len(report.failures)} could not be converted."
        )
        print(summary, file=sys.stderr)
        for line in report.lines():
            print(f"  {line}", file=sys.stderr)
        if options["strict"] and report.failures:
            raise CommandError(f"{len(report.failures)} rules could not be converted.")

    @staticmethod
    def _filters(options) -> QueryDict:
        data = QueryDict(mutable=True)
        for name, repeatable in FILTERS:
            value = options.get(name)
            if value is None:
                continue
            data.setlist(name, value if repeatable else [value])
        return data
