"""`manage.py run_import_jobs [--database-name NAME]`: run the re-imports queued in the admin.

Started by the admin as a detached process (catalog/jobs/runner.py); it can also be run by hand
or from cron to drain the queue. Each job's outcome (done with the import summary, or failed with
the reason) is recorded on its row and shown in the admin under "Import jobs".
"""

from django.core.management.base import BaseCommand
from django.db import connections

from catalog.jobs.runner import run_queued_jobs


class Command(BaseCommand):
    help = "Run the imports queued from the admin, one at a time, until none is left."
    requires_system_checks = []  # started for every admin re-import: no need to re-check the project

    def add_arguments(self, parser):
        parser.add_argument(
            "--database-name",
            help="the database NAME to use instead of the configured one (the admin passes its own, so the job "
            "runs where it was queued)",
        )

    def handle(self, *args, database_name=None, **options):
        if database_name:
            connection = connections["default"]
            connection.close()
            connection.settings_dict["NAME"] = database_name
        ran = run_queued_jobs()
        self.stdout.write(f"{ran} import job{'s' if ran != 1 else ''} run")
