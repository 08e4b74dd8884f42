"""`manage.py build_exports [--target T --pipeline P]`: build whole-catalog SIEM exports for the current version.

/rules/export/<file> without filters serves these files (catalog.exports.built_exports); a request
for one not built yet enqueues a task for that one export (catalog.exports.export_queue). Run this
with no target after an import (or from cron) to have the default exports ready before anyone asks:
Splunk (sysmon,splunk_windows), Elastic Lucene (sysmon,ecs_windows) and Sentinel (`sentinel`: microsoft_xdr, and
azure_monitor for the Windows Security log). Older versions' files are deleted once the new one is stored.
"""

import os
import sys

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from catalog.conversion.converter import choose
from catalog.conversion.formats import FORMATS
from catalog.conversion.targets import UnknownChoice
from catalog.exports.built_exports import build_export
from catalog.exports.exporting import canonical_choice

# Each SIEM export's default target, with its default pipelines.
DEFAULT_TARGETS = [f.default_target for f in FORMATS.values() if f.default_target]


class Command(BaseCommand):
    help = "Build the whole-catalog SIEM exports that /rules/export/ serves, for the current catalog version."

    def add_arguments(self, parser):
        parser.add_argument("--target", help=f"one target (default: each export's own: {', '.join(DEFAULT_TARGETS)})")
        parser.add_argument("--pipeline", default="", help="pipeline id(s), comma-separated; 'none' for none")
        parser.add_argument(
            "--base-url",
            default=os.environ.get("CATALOG_BASE_URL", "http://127.0.0.1:8000"),
            help="the catalog's address, for each rule's link (default: $CATALOG_BASE_URL or http://127.0.0.1:8000)",
        )
        parser.add_argument("--rules-url", default="", help="the rule list's address (default: from --base-url)")

    def handle(self, *args, **options):
        rules_url = options["rules_url"] or options["base_url"].rstrip("/") + reverse("browse:rule-list")
        try:
            if options["target"]:
                choices = [canonical_choice(choose(options["target"], options["pipeline"]))]
            else:
                choices = [canonical_choice(choose(target)) for target in DEFAULT_TARGETS]
        except UnknownChoice as exc:
            raise CommandError(str(exc)) from None
        failed = 0
        for choice in choices:
            try:
                built = build_export(choice.target.id, choice.pipelines, rules_url)
            except Exception as exc:  # reported, and the next export still built
                failed += 1
                problem = f"{type(exc).__name__}: {exc}"
                print(f"{choice.target.id} ({choice.pipeline}): build failed: {problem}", file=sys.stderr)
                continue
            self.stdout.write(f"{built.name}: {built.size} bytes, {built.exported} rules, {built.failed} not converted")
        if failed:
            raise CommandError(f"{failed} export build{'s' if failed != 1 else ''} failed.")
