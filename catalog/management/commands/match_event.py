"""`manage.py match_event FILE [FILE ...]`: which catalog rules each logged event triggers.

Local files are trusted input: no size caps and no time budget here (the web routes have both).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from catalog.matching import matching_rules, uncompilable_rules
from catalog.sigma.logged_events import EventInputError, flatten_event, load_events


class Command(BaseCommand):
    help = "Evaluate the catalog's rules against events in JSON files (EVTX rendered as JSON, or flat objects)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args, files, **options):
        for path in files:
            try:
                with open(path, encoding="utf-8") as handle:
                    events = load_events(handle.read())
            except (OSError, json.JSONDecodeError, UnicodeDecodeError, EventInputError) as exc:
                raise CommandError(f"{path}: {exc}") from None
            for number, event in enumerate(events, start=1):
                rules = matching_rules(flatten_event(event))
                self.stdout.write(f"{path} event {number}: {len(rules)} rule(s)")
                for rule in rules:
                    self.stdout.write(f"  {rule.uuid}  {rule.effective_level or '-':13s} {rule.title}")
        unevaluable = uncompilable_rules()
        if unevaluable:
            self.stderr.write(
                f"{len(unevaluable)} rule regex(es) RE2 cannot run, run on the backtracking fallback with a time limit:"
            )
            for rule, reason in unevaluable:
                self.stderr.write(f"  {rule.uuid}  {rule.title}: {reason}")
