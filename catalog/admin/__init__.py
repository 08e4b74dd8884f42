"""The curators' admin: one module per ModelAdmin, plus the forms, filters and inlines they share.

Importing this package registers every ModelAdmin (admin autodiscovery imports `catalog.admin`):
rules (curation), indicators and techniques (read-only), sources (folders, re-import), import runs
and import jobs (background re-imports).
"""

from django.contrib import admin

from catalog.admin import import_jobs, import_runs, indicators, rules, sources  # noqa: F401  (registers them)
from catalog.admin import telemetry as telemetry_admin  # noqa: F401  (saved telemetry profiles)

admin.site.site_header = "Sigma rule catalog administration"
admin.site.site_title = "Sigma rule catalog admin"
admin.site.index_title = "Curation and imports"
