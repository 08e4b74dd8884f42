"""`manage.py run_match_jobs [--database-name NAME]`: match the uploaded event files queued at /match/.

Started by the upload request as a detached process (catalog/matching_files/jobs.py); it can also
be run by hand or from cron to drain the queue. Progress and results are recorded on each job's row.
"""

from django.core.management.base import BaseCommand
from django.db import connections

from catalog.matching_files.jobs import run_queued_jobs


class Command(BaseCommand):
    help = "Match the event files uploaded at /match/, one at a time, until none is left."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--database-name", help="the database NAME to use (the web request passes its own)")

    def handle(self, *args, database_name=None, **options):
        if database_name:
            connection = connections["default"]
            connection.close()
            connection.settings_dict["NAME"] = database_name
        ran = run_queued_jobs()
        self.stdout.write(f"{ran} match job{'s' if ran != 1 else ''} run")
