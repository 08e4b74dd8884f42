"""`manage.py export_catalog [--format jsonl] [--output FILE]`: the catalog as JSON lines."""

import contextlib
import json
import sys

from django.core.management.base import BaseCommand

from catalog.browse.queries.records import rule_to_dict, rules_for_export
from catalog.models import Rule

BATCH = 500


class Command(BaseCommand):
    help = "Write one JSON object per rule (sorted by id): the catalog's machine-readable contract."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["jsonl"], default="jsonl")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, format="jsonl", output=None, **options):
        with open(output, "w", encoding="utf-8") if output else contextlib.nullcontext(sys.stdout) as out:
            for rule in export_order():
                out.write(json.dumps(rule_to_dict(rule), ensure_ascii=False, sort_keys=True) + "\n")


def export_order(batch: int = BATCH):
    """Every rule with its record's data, sorted by id, read in keyset batches (uuid > the last one).

    Memory stays flat on any catalog (no list of all rows or ids), and the prefetches cost a constant
    number of queries per batch.
    """
    last = None
    while True:
        rules = Rule.objects.order_by("uuid")
        if last is not None:
            rules = rules.filter(uuid__gt=last)
        rows = list(rules_for_export(rules)[:batch])
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].uuid
