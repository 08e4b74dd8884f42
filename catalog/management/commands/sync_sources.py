"""`manage.py sync_sources [NAME ...] [--due] [--force]`: fetch git sources and import what changed.

Run `sync_sources --due` from cron (every few minutes): it syncs each source whose `sync_interval` has passed
since its last sync, so every source keeps its own schedule.
"""

from django.core.management.base import BaseCommand, CommandError

from catalog.importing.git_sources import SourceSettingError
from catalog.importing.syncing import due_sources, git_sources, sync


def print_result(command: BaseCommand, result) -> None:
    """The sync's problems on stderr and its summary on stdout; CommandError (exit 1) if it failed."""
    for line in result.lines[:-1]:
        command.stderr.write(line)
    if result.error:
        raise CommandError(result.summary(), returncode=1)
    command.stdout.write(result.summary())
    if result.report and result.report.errors:
        raise CommandError(f"{len(result.report.errors)} error(s): the files named above were not imported")


class Command(BaseCommand):
    help = "Sync git sources: fetch each one's branch, then import what changed (skipped when the commit is the same)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="NAME", help="sources to sync (default: every git source)")
        parser.add_argument("--due", action="store_true", help="only sources whose sync interval has passed (cron)")
        parser.add_argument("--force", action="store_true", help="import even when the commit has not moved")

    def handle(self, *args, names, due, force, **options):
        try:
            sources = git_sources(names)
        except SourceSettingError as exc:
            raise CommandError(str(exc)) from None
        if due:
            due_names = {s.name for s in due_sources()}
            sources = [s for s in sources if s.name in due_names]
        if not sources:
            none = "is due" if due else "(add one with `manage.py add_source`)"
            none = f"no git source to sync {none}"
            self.stdout.write(none)
            return
        failed = []
        for source in sources:
            try:
                print_result(self, sync(source, force=force))
            except CommandError as exc:
                if len(sources) == 1:
                    raise
                self.stderr.write(str(exc))
                failed.append(source.name)
        if failed:
            raise CommandError(f"{len(failed)} of {len(sources)} sources failed: {', '.join(failed)}")
