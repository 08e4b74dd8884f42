"""`manage.py infer_profile FILE|FOLDER [...] [--name NAME] [--description TEXT] [--json]`: the telemetry profile a
sample of logs shows (catalog.coverage.inferred): its events and log sources, and the fields each event never fills.

Files are EVTX, JSON or JSON lines, as for match_event (a folder: its .evtx, .json, .jsonl and .ndjson files, at
any depth). Local files are trusted input: every event is read, without the web upload's caps. Prints each event
with its records and the fields it never fills, then the /coverage/ URL of the profile; `--json` prints the whole
reading instead (per-field presence rates too); `--name` also saves it as a named profile, listed on /coverage/
(replacing a saved profile of that name).
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.text import slugify

from catalog.core.sigma.event_files import EventFileError, FileLimits
from catalog.core.sigma.logged_events import NO_LIMITS
from catalog.coverage.inferred import inferred_profile, report
from catalog.coverage.sample import read_sample
from catalog.models.telemetry import TelemetryProfile

TRUSTED = FileLimits(max_bytes=1 << 62, max_events=1 << 62, per_event=NO_LIMITS)
SUFFIXES = (".evtx", ".json", ".jsonl", ".ndjson")


def sample_files(names) -> list[tuple[Path, str, None]]:
    files = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            files += [(p, str(p), None) for p in found]
        elif path.is_file():
            files.append((path, name, None))
        else:
            raise CommandError(f"{name}: no such file or folder")
    if not files:
        raise CommandError(f"No event file ({', '.join(SUFFIXES)}) in {', '.join(names)}.")
    return files


class Command(BaseCommand):
    help = "Read a sample of logs (EVTX, JSON, JSON lines) into the telemetry profile it shows."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--name", help="save the profile under this name (listed on /coverage/)")
        parser.add_argument("--description", default="", help="the saved profile's description")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the whole reading as JSON")

    def handle(self, *args, files, name, description, as_json, **options):
        try:
            sample = read_sample(sample_files(files), TRUSTED, max_events=1 << 62)
        except (OSError, EventFileError) as exc:
            raise CommandError(str(exc)) from None
        profile = inferred_profile(sample)
        reading = report(sample, profile)
        reading["url"] = reverse("coverage:page") + "?" + profile.query()
        if name:
            self._save(name, description, profile)
        if as_json:
            self.stdout.write(json.dumps(reading, ensure_ascii=False, indent=2))
            return
        for event in reading["events"]:
            never = ", ".join(event["never_filled"]) or "none"
            self.stdout.write(f"{event['event']}: {event['records']} record(s); never filled: {never}")
        for source in reading["logsources"]:
            self.stdout.write(f"log source {source['logsource']}: {source['records']} record(s)")
        for row in reading["not_placed"]:
            self.stdout.write(f"not placed: {row['records']} record(s), {row['reason']}")
        self.stdout.write(f"{reading['records']} event(s) read. Coverage: {reading['url']}")

    def _save(self, name: str, description: str, profile) -> None:
        slug = slugify(name)[:120]
        if not slug or "\x00" in name + description:
            raise CommandError(f"--name {name!r}: give a name with letters or digits (and no NUL character).")
        if TelemetryProfile.objects.filter(slug=slug).exclude(name=name[:120]).exists():
            raise CommandError(f"--name {name!r}: another saved profile has the slug {slug!r}; choose another name.")
        TelemetryProfile.objects.update_or_create(
            name=name[:120],
            defaults={
                "slug": slug,
                "description": description,
                "events": ",".join(profile.event_tokens),
                "logsources": ",".join(profile.logsource_tokens),
                "unfilled": ",".join(profile.unfilled_tokens),
            },
        )
        self.stderr.write(f"Saved as the profile {name!r}.")
