"""`manage.py import_rules PATH [PATH ...] [--source NAME] [--strict]`"""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.importing.importer import import_paths


class Command(BaseCommand):
    help = "Import Sigma rule files or folders into the catalog, in one transaction."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="rule file or folder (searched recursively)")
        parser.add_argument(
            "--source",
            help="source name for all PATHs (default: named after the repository, e.g. sigmahq for a SigmaHQ checkout;"
            " a folder an existing source records keeps it)",
        )
        parser.add_argument("--strict", action="store_true", help="any error fails the whole run (nothing is written)")

    def handle(self, *args, paths, source=None, strict=False, **options):
        def progress(files, total):
            # tqdm draws only on a terminal (disable=None), so logs and pipes stay clean.
            return tqdm(files, total=total, desc="Parsing changed files", unit="file", disable=None, file=sys.stderr)

        report = import_paths(paths, source=source, strict=strict, progress=progress)
        for problem in report.problems:
            self.stderr.write(f"{problem} [{problem.severity}]")
        self.stdout.write(report.summary())
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} error(s): the files or paths named above were not imported", returncode=1
            )
