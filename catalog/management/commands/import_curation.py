"""`manage.py import_curation FILE [--allow-missing] [--dry-run] [--user NAME]`

Restores a file written by `export_curation`. It is all or nothing: a malformed file, or entries
for rule ids the catalog does not hold (unless --allow-missing), change nothing. Importing the
same file twice reports "0 changed" the second time.
"""

from django.core.management.base import BaseCommand, CommandError

from catalog.curation.audit import SYSTEM_USERNAME, resolve_user
from catalog.curation.fields import CurationError
from catalog.curation.transfer import CurationFileError, import_entries, parse_export


class Command(BaseCommand):
    help = "Apply curation exported by export_curation (fields absent from an entry are left unchanged)."

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="a JSON file written by export_curation ('-' for stdin)")
        parser.add_argument(
            "--allow-missing",
            action="store_true",
            help="apply the known rules even if some ids are not in the catalog (they are still listed)",
        )
        parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
        parser.add_argument(
            "--user",
            metavar="NAME",
            help=f"recorded in the admin history (default: the '{SYSTEM_USERNAME}' account)",
        )

    def handle(self, *args, file, allow_missing=False, dry_run=False, user=None, **options):
        text = self._read(file)
        try:
            entries = parse_export(text)
            account = resolve_user(user)
        except CurationFileError as exc:
            for problem in exc.problems:
                self.stderr.write(f"{file}: {problem}")
            raise CommandError(f"{file}: {len(exc.problems)} problem(s), nothing imported") from None
        except CurationError as exc:
            raise CommandError(str(exc)) from None
        result = import_entries(entries, account, allow_missing=allow_missing, dry_run=dry_run)
        for rule_id in result.missing:
            self.stderr.write(f"{file}: unknown rule id {rule_id} (not in the catalog)")
        self.stdout.write(result.summary() + (" (dry run)" if dry_run else ""))
        if result.missing and not allow_missing:
            raise CommandError(
                f"{len(result.missing)} rule id(s) are not in the catalog; nothing imported "
                "(use --allow-missing to apply the others)"
            )

    def _read(self, file):
        import sys

        try:
            if file == "-":
                return sys.stdin.read()
            with open(file, encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
