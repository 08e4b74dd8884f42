"""`manage.py add_source NAME URL [--branch B] [--paths a,b] [--base-url URL] [--interval 1d] [--no-sync]`"""

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from catalog.importing.git_sources import SourceSettingError
from catalog.importing.syncing import add_source, sync
from catalog.management.commands.sync_sources import print_result

INTERVAL = re.compile(r"^(\d+)\s*([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_interval(text: str) -> timedelta:
    """'30m', '6h', '1d'; '0' for none (sync only when asked)."""
    if text.strip() == "0":
        return timedelta(0)
    match = INTERVAL.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise SourceSettingError(f"--interval {text!r}: a number of minutes, hours or days (30m, 6h, 1d), or 0")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Add (or update) a git repository as a rule source, then sync it: clone, import its folders."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the source's name (letters, digits, '.', '_', '-'), e.g. sigmahq")
        parser.add_argument("url", help="git URL: https://, ssh://, git@host:path or file:// (no credentials in it)")
        parser.add_argument("--branch", default="", help="branch to follow (default: the repository's default)")
        parser.add_argument(
            "--paths", default="", help="comma-separated folders of the repository to import (default: all of it)"
        )
        parser.add_argument("--base-url", default=None, help="web address rule paths are relative to (links)")
        parser.add_argument("--interval", default=None, help="sync this often with `sync_sources --due`: 30m, 6h, 1d")
        parser.add_argument("--no-sync", action="store_true", help="only record the source; sync it later")

    def handle(self, *args, name, url, branch, paths, base_url, interval: str | None, no_sync, **options):
        try:
            every = parse_interval(interval) if interval is not None else None
            source, done = add_source(name, url, branch, paths.split(","), base_url, every)
        except SourceSettingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(done)
        if not no_sync:
            print_result(self, sync(source))
