"""`manage.py export_curation [--output FILE]`: every rule's curation as JSON, keyed by rule id.

Only rules with some curation are written, so the file is a small backup that `import_curation`
restores into any catalog holding the same rules (for example one rebuilt from scratch).
"""

import json

from django.core.management.base import BaseCommand

from catalog.curation.transfer import export_data


class Command(BaseCommand):
    help = "Write all curation (rules with any non-default curation) as JSON keyed by rule id."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, output=None, **options):
        data = export_data()
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as out:
                out.write(text)
            self.stderr.write(f"{len(data['rules'])} curated rules written to {output}")
        else:
            self.stdout.write(text, ending="")
