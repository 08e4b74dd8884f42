"""Import jobs: re-imports queued from the admin, with their status while they run and their outcome after.

Listing or opening jobs first marks failed any job whose task will never finish it
(catalog.importing.jobs.reconcile), so a killed import never shows as running forever. An unfinished
job's page refreshes itself.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.importing.admin_runs import problem_table
from catalog.importing.jobs import reconcile
from catalog.models import ImportJob
from catalog.platform.admin_access import ViewOnlyAdmin, can_reimport

REFRESH_SECONDS = 3


@admin.register(ImportJob)
class ImportJobAdmin(ViewOnlyAdmin):
    list_display = ["__str__", "source", "status", "requested_by", "requested_at", "duration", "summary", "run_link"]
    list_filter = ["status", "kind", "source"]
    list_select_related = ["source", "requested_by"]
    fields = readonly_fields = [
        "kind",
        "source",
        "status",
        "folder_list",
        "requested_by",
        "requested_at",
        "started_at",
        "finished_at",
        "task",
        "summary",
        "message_text",
        "run_link",
        "problems",
    ]
    change_form_template = "admin/catalog/importjob/change_form.html"

    def has_view_permission(self, request, obj=None):
        return can_reimport(request.user) or super().has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and (obj is None or obj.finished)

    def changelist_view(self, request, extra_context=None):
        if self.has_view_permission(request):
            reconcile()
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.has_view_permission(request):
            reconcile()
        job = (
            ImportJob.objects.filter(pk=object_id).only("status").first()
            if object_id.isascii() and object_id.isdigit()
            else None
        )
        context = {**(extra_context or {}), "refresh_seconds": REFRESH_SECONDS if job and not job.finished else None}
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="duration")
    def duration(self, obj):
        if obj.started_at is None:
            return "—"
        seconds = ((obj.finished_at or obj.started_at) - obj.started_at).total_seconds()
        return f"{seconds:.1f} s" if obj.finished_at else "running"

    @admin.display(description="folders")
    def folder_list(self, obj):
        return format_html_join("", "<div><code>{}</code></div>", ((root,) for root in obj.roots)) or "—"

    @admin.display(description="task")
    def task(self, obj):
        return obj.task_id or "—"

    @admin.display(description="why it failed")
    def message_text(self, obj):
        return format_html("<pre>{}</pre>", obj.message) if obj.message else "—"

    @admin.display(description="import run")
    def run_link(self, obj):
        if obj.import_run_id is None:
            return "—"
        return format_html(
            '<a href="{}">Import run #{}</a> · <a href="{}?run={}">rules added, changed and retired</a>',
            reverse("admin:catalog_importrun_change", args=[obj.import_run_id]),
            obj.import_run_id,
            reverse("changes:list"),
            obj.import_run_id,
        )

    @admin.display(description="problems")
    def problems(self, obj):
        return problem_table(obj.import_run.problems) if obj.import_run_id else "—"
