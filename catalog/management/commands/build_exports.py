"""`manage.py build_exports [--target T --pipeline P]`: build whole-catalog SIEM exports for the current version.

/rules/export/<file> without filters serves these files (catalog.conversion.built_exports); a request
for one not built yet starts this command detached for that one export (`--from-queue`). Run it with
no target after an import (or from cron) to have the default exports ready before anyone asks:
Splunk (splunk_windows), Elastic Lucene (ecs_windows) and Sentinel (microsoft_xdr). One build runs at a
time per database and host; older versions' files are deleted once the new one is stored.
"""

import os
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.urls import reverse

from catalog.conversion import export_queue
from catalog.conversion.built_exports import build_export
from catalog.conversion.converter import choose
from catalog.conversion.exporting import canonical_choice
from catalog.conversion.formats import FORMATS
from catalog.conversion.targets import UnknownChoice
from catalog.jobs.detached import runner_lock

# Each SIEM export's default target, with its default pipelines.
DEFAULT_TARGETS = [f.default_target for f in FORMATS.values() if f.default_target]


class Command(BaseCommand):
    help = "Build the whole-catalog SIEM exports that /rules/export/ serves, for the current catalog version."
    requires_system_checks = []  # started by web requests: no need to re-check the project

    def add_arguments(self, parser):
        parser.add_argument("--target", help=f"one target (default: each export's own: {', '.join(DEFAULT_TARGETS)})")
        parser.add_argument("--pipeline", default="", help="pipeline id(s), comma-separated; 'none' for none")
        parser.add_argument(
            "--base-url",
            default=os.environ.get("CATALOG_BASE_URL", "http://127.0.0.1:8000"),
            help="the catalog's address, for each rule's link (default: $CATALOG_BASE_URL or http://127.0.0.1:8000)",
        )
        parser.add_argument("--rules-url", default="", help="the rule list's address (default: from --base-url)")
        parser.add_argument("--from-queue", action="store_true", help="started by a web request: release its claim")
        parser.add_argument("--database-name", help="the database NAME to use instead of the configured one")

    def handle(self, *args, **options):
        if options["database_name"]:
            connection = connections["default"]
            connection.close()
            connection.settings_dict["NAME"] = options["database_name"]
        rules_url = options["rules_url"] or options["base_url"].rstrip("/") + reverse("rule-list")
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
                with runner_lock("exports"):
                    built = build_export(choice.target.id, choice.pipelines, rules_url)
            except Exception as exc:  # reported, and the next export still built
                failed += 1
                problem = f"{type(exc).__name__}: {exc}"
                print(f"{choice.target.id} ({choice.pipeline}): build failed: {problem}", file=sys.stderr)
                continue
            finally:
                if options["from_queue"]:
                    export_queue.release(choice)
            self.stdout.write(f"{built.name}: {built.size} bytes, {built.exported} rules, {built.failed} not converted")
        if failed:
            raise CommandError(f"{failed} export build{'s' if failed != 1 else ''} failed.")
