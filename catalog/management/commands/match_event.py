"""`manage.py match_event FILE [FILE ...] [--format text|jsonl] [--product P --category C --service S]`: which
catalog rules each logged event triggers (in the given log source, else the one inferred per event).

Files are Windows EVTX (parsed natively), JSON (one event, a list, or objects one after another)
or JSON lines (.jsonl, .ndjson); JSON events may be in the Windows, ECS, Splunk, Sentinel or Defender XDR
shape (catalog.core.sigma.shapes). Local files are trusted input: no size caps and no time budget
here (the web routes have both). `--format jsonl` writes one JSON object per hit (file, event number,
timestamp, the shape it was read in, rule, and the predicates that matched), then one per correlation result
(`{"file", "correlation": {...}}`: its group-by values, window, the events that made it fire with their base
rules' explanations); `text` a line per event and rule, then the hits grouped by rule, then the correlations.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.core.sigma.event_files import EventFileError, FileLimits
from catalog.core.sigma.explain import matched_predicates
from catalog.core.sigma.logged_events import NO_LIMITS
from catalog.matching.budget import ExplanationBudget
from catalog.matching.engine import skipped_rules, uncompilable_rules
from catalog.matching.grouping import match_file
from catalog.matching.logsources import picked

TRUSTED = FileLimits(max_bytes=1 << 62, max_events=1 << 62, per_event=NO_LIMITS)


class Command(BaseCommand):
    help = "Evaluate the catalog's rules against the events of EVTX, JSON or JSON-lines files."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", choices=["text", "jsonl"], default="text", help="output format")
        for part in ("product", "category", "service"):
            parser.add_argument(f"--{part}", default="", help=f"the events' log source {part} (default: inferred)")

    def handle(self, *args, files, format, **options):
        source = picked(options["product"], options["category"], options["service"])
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            try:
                summary = match_file(
                    path,
                    name,
                    TRUSTED,
                    on_hits=self._printer(name, format),
                    source=source,
                    budget=ExplanationBudget.unlimited(),
                )
            except (OSError, EventFileError) as exc:
                raise CommandError(str(exc) if isinstance(exc, EventFileError) else f"{name}: {exc}") from None
            if format == "text":
                self._summary(name, summary)
            self._correlations(name, summary["correlations"], format)
        skipped = skipped_rules()
        if skipped:
            self.stderr.write(f"{len(skipped)} rule(s) skipped by matching (see each rule's page):")
            for rule, reason in skipped:
                self.stderr.write(f"  {rule.uuid}  {rule.title}: {reason}")
        unevaluable = uncompilable_rules()
        if unevaluable:
            self.stderr.write(
                f"{len(unevaluable)} rule regex(es) RE2 cannot run, run on the backtracking fallback with a time limit:"
            )
            for rule, reason in unevaluable:
                self.stderr.write(f"  {rule.uuid}  {rule.title}: {reason}")

    def _printer(self, name, format):
        def on_hits(event, hits):
            if format == "jsonl":
                for hit in hits:
                    record = {"file": name, "event": event.number, "timestamp": event.timestamp, "shape": event.shape}
                    record["rule"] = hit["rule"]
                    if hit["explanation"] is not None:
                        record["matched"] = matched_predicates(hit["explanation"])
                    self.stdout.write(json.dumps(record, ensure_ascii=False))
                return
            self.stdout.write(f"{name} event {event.number}: {len(hits)} rule(s)  [read as {event.shape}]")
            for hit in hits:
                rule = hit["rule"]
                self.stdout.write(f"  {rule['id']}  {rule['level'] or '-':13s} {rule['title']}")

        return on_hits

    def _summary(self, name, summary):
        shapes = ", ".join(f"{shape} {count}" for shape, count in summary["shapes"].items())
        self.stdout.write(
            f"{name}: {summary['events']} event(s), {summary['hit_events']} with hits (read as: {shapes})"
        )
        for group in summary["rules"]:
            when = f"  {group['first']} .. {group['last']}" if group["first"] else ""
            self.stdout.write(f"  {group['count']:6d}  {group['level'] or '-':13s} {group['title']}{when}")

    def _correlations(self, name, correlations, format):
        """Correlation results (catalog.matching.correlating), and the correlations that cannot be evaluated."""
        for result in correlations["results"]:
            if format == "jsonl":
                self.stdout.write(json.dumps({"file": name, "correlation": result}, ensure_ascii=False))
                continue
            group = " ".join(f"{item['field']}={item['value']}" for item in result["group"]) or "(no group-by)"
            window = f"{result['window']['start']} .. {result['window']['end']}"
            self.stdout.write(
                f"  correlation  {result['title']}  {group}  {result['event_count']} events  {window}"
                f"  [{result['condition']}: {result['value']}]"
            )
            for event in result["events"]:
                rules = ", ".join(hit["rule"]["title"] for hit in event.get("hits", []) if hit)
                fired = event.get("correlation")
                what = f"correlation {fired['title']} ({fired['count']} events)" if fired else rules
                self.stdout.write(f"      event {event['number'] or '-'}  {event['timestamp']}  {what}")
            if result["events_left_out"]:
                self.stdout.write(f"      and {result['events_left_out']} more event(s)")
        left_out = {
            "late_events": "event(s) came more than {seconds:g} s after a later one: not correlated",
            "untimed_events": "event(s) with hits had no readable timestamp: not correlated",
            "not_grouped": "hit(s) lacked a group-by or condition field: not counted",
        }
        for key, message in left_out.items():
            if correlations.get(key):
                count = correlations[key]
                self.stderr.write(f"{name}: {count} " + message.format(seconds=correlations["reorder_seconds"]))
        for item in correlations["undecidable"]:
            self.stderr.write(f"  correlation {item['id']}  {item['title']}: not evaluated: {item['reason']}")
