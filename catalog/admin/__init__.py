"""The curators' admin. Each feature keeps its ModelAdmins in its own package; importing this package
registers them all (admin autodiscovery imports `catalog.admin`):

- catalog.curation.admin: rules (curation, bulk actions);
- catalog.browse.admin: indicators and ATT&CK techniques (read-only reference data);
- catalog.importing.admin, admin_runs, admin_jobs: sources (folders, re-import), import runs, import jobs;
- catalog.coverage.admin: saved telemetry profiles.
"""

from django.contrib import admin

from catalog.browse import admin as _browse_admin  # noqa: F401  (registers them)
from catalog.coverage import admin as _coverage_admin  # noqa: F401
from catalog.curation import admin as _curation_admin  # noqa: F401
from catalog.importing import admin as _sources_admin  # noqa: F401
from catalog.importing import admin_jobs as _import_jobs_admin  # noqa: F401
from catalog.importing import admin_runs as _import_runs_admin  # noqa: F401

admin.site.site_header = "Sigma rule catalog administration"
admin.site.site_title = "Sigma rule catalog admin"
admin.site.index_title = "Curation and imports"
