"""`manage.py export_catalog [--format jsonl] [--output FILE]`: the catalog as JSON lines."""

import contextlib
import json
import sys

from django.core.management.base import BaseCommand

from catalog.models import Rule
from catalog.queries.records import rule_to_dict, rules_for_export


class Command(BaseCommand):
    help = "Write one JSON object per rule (sorted by id): the catalog's machine-readable contract."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["jsonl"], default="jsonl")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, format="jsonl", output=None, **options):
        with open(output, "w", encoding="utf-8") if output else contextlib.nullcontext(sys.stdout) as out:
            uuids = list(Rule.objects.order_by("uuid").values_list("pk", flat=True))
            # Batches keep memory flat on large catalogs while the prefetches stay constant per batch.
            for start in range(0, len(uuids), 500):
                batch = rules_for_export(Rule.objects.filter(pk__in=uuids[start : start + 500]))
                for rule in sorted(batch, key=lambda r: str(r.uuid)):
                    out.write(json.dumps(rule_to_dict(rule), ensure_ascii=False, sort_keys=True) + "\n")
