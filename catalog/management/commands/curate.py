"""`manage.py curate RULE_ID [--note TEXT] [--verify|--unverify] [--hide|--unhide] [--add-tag TAG]
[--remove-tag TAG] [--level LEVEL] [--fp-note TEXT] [--user NAME]`

Curation from scripts and shells, with the same rules and the same admin history as the admin.
Without any change option it prints the rule's current curation.
"""

from django.core.management.base import BaseCommand, CommandError

from catalog.curation.audit import SYSTEM_USERNAME, get_rule, resolve_user
from catalog.curation.edits import Edit, apply_edit
from catalog.curation.fields import CurationError, field_label
from catalog.models import CURATION_FIELDS, LEVELS


class Command(BaseCommand):
    help = "Change the curation of one rule (note, verified, hidden, local tags, level override)."

    def add_arguments(self, parser):
        parser.add_argument("rule_id", metavar="RULE_ID", help="the rule's Sigma id (UUID)")
        parser.add_argument("--note", help="curator note (an empty string clears it)")
        parser.add_argument("--fp-note", dest="fp_note", help="false-positive note (an empty string clears it)")
        verify = parser.add_mutually_exclusive_group()
        verify.add_argument(
            "--verify",
            dest="verified",
            action="store_const",
            const=True,
            help="mark verified (records the user and the time)",
        )
        verify.add_argument("--unverify", dest="verified", action="store_const", const=False)
        hide = parser.add_mutually_exclusive_group()
        hide.add_argument(
            "--hide",
            dest="hidden",
            action="store_const",
            const=True,
            help="remove the rule from every public page and the API",
        )
        hide.add_argument("--unhide", dest="hidden", action="store_const", const=False)
        parser.add_argument(
            "--add-tag",
            dest="add_tags",
            action="append",
            default=[],
            metavar="TAG",
            help="add a local tag (repeatable)",
        )
        parser.add_argument(
            "--remove-tag",
            dest="remove_tags",
            action="append",
            default=[],
            metavar="TAG",
            help="remove a tag locally (repeatable); a removed Sigma tag stays removed on re-import",
        )
        parser.add_argument("--level", metavar="LEVEL", help=f"level override: {', '.join(LEVELS)}, or 'none' to clear")
        parser.add_argument(
            "--user",
            metavar="NAME",
            help=f"recorded in the admin history (default: the '{SYSTEM_USERNAME}' account)",
        )

    def handle(self, *args, rule_id, user=None, **options):
        edit = Edit(
            note=options["note"],
            fp_note=options["fp_note"],
            verified=options["verified"],
            hidden=options["hidden"],
            add_tags=options["add_tags"],
            remove_tags=options["remove_tags"],
            level=options["level"],
        )
        try:
            rule = get_rule(rule_id)
            if edit == Edit():
                self._show(rule)
                return
            edit.validate()  # every value, before anything is written
            account = resolve_user(user)
            fields = apply_edit(rule, edit, account)
        except CurationError as exc:
            raise CommandError(str(exc)) from None
        if fields:
            labels = ", ".join(field_label(f).lower() for f in fields)
            self.stdout.write(f"{rule.uuid} {rule.title}: changed {labels} (recorded as {account.username})")
        else:
            self.stdout.write(f"{rule.uuid} {rule.title}: nothing changed")

    def _show(self, rule):
        self.stdout.write(f"{rule.uuid} {rule.title}")
        for name in CURATION_FIELDS:
            self.stdout.write(f"  {name}: {getattr(rule, name)!r}")
        self.stdout.write(f"  effective tags: {', '.join(rule.effective_tags)}")
