"""Sources: the folders each one is imported from (editable, inside CATALOG_IMPORT_ROOTS) and re-imports;
git sources: their repository, branch and folders, and "sync now".

A re-import is queued as an ImportJob and runs as a background task (catalog/importing/jobs.py); so is a git
source's sync (catalog/importing/sync_jobs.py: adding a git source here queues its first sync, and re-importing
a git source syncs it);
the request returns at once and the job's page shows its progress and outcome. Re-importing and
editing a source's folders are for superusers and holders of `catalog.reimport_source`: the
folders decide what the server reads.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.importing.forms import SourceForm
from catalog.importing.jobs import enqueue
from catalog.importing.reimport import ReimportError, source_roots
from catalog.importing.roots import RootNotAllowed, check_roots
from catalog.importing.sync_jobs import enqueue_sync
from catalog.models import Source
from catalog.platform.admin_access import can_reimport
from catalog.publishing.versioning import bump_version

RECENT_JOBS = 5
GIT_FIELDS = ["git_url", "branch", "git_paths", "sync_interval", "synced_commit", "last_sync_at", "last_sync_error"]
SYNC_STATE = ["synced_commit", "last_sync_at", "last_sync_error"]  # written by syncs only


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = ["name", "location", "git_url", "rule_count", "last_imported_at", "synced"]
    search_fields = ["name", "location", "git_url"]
    actions = ["reimport_sources", "sync_sources"]
    change_form_template = "admin/catalog/source/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_rules=Count("rules"))

    def get_fields(self, request, obj=None):
        # Those who may not edit see the folders as a list rather than the form's text box.
        folders = "roots" if self.has_change_permission(request, obj) else "folder_list"
        return [
            "name",
            "base_url",
            *GIT_FIELDS,
            "location",
            folders,
            "rule_count",
            "created_at",
            "last_imported_at",
            "recent_jobs",
        ]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["location", "folder_list", "rule_count", "created_at", "last_imported_at", "recent_jobs", *SYNC_STATE]
        return ["name", *fixed] if obj is not None else fixed  # renaming would split the source's rules

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "base_url":
            kwargs["assume_scheme"] = "https"  # "github.com/..." typed without a scheme means https
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return can_reimport(request.user) or super().has_change_permission(request, obj)

    def has_reimport_permission(self, request):
        return can_reimport(request.user)

    def save_model(self, request, obj, form, change):
        if not obj.location and obj.roots:
            obj.location = obj.roots[0]
        git_changed = bool({"git_url", "branch", "git_paths"} & set(form.changed_data))
        if git_changed:
            obj.synced_commit = ""  # other folders or another history: the next sync imports in full
        super().save_model(request, obj, form, change)
        if "base_url" in form.changed_data:
            bump_version()  # rule pages link upstream through it: cached pages must not keep the old link
        if obj.git_url and git_changed and can_reimport(request.user):
            self._queue(request, obj)

    @admin.display(description="synced commit")
    def synced(self, obj):
        return obj.synced_commit[:12] or "—"

    @admin.display(description="rules", ordering="n_rules")
    def rule_count(self, obj):
        url = reverse("admin:catalog_rule_changelist") + f"?source__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, getattr(obj, "n_rules", "—"))

    @admin.display(description="folders")
    def folder_list(self, obj):
        return format_html_join("", "<div><code>{}</code></div>", ((root,) for root in obj.roots)) or "—"

    @admin.display(description="recent re-imports")
    def recent_jobs(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        jobs = obj.import_jobs.order_by("-requested_at", "-pk")[:RECENT_JOBS]
        return (
            format_html_join(
                "",
                '<div><a href="{}">#{}</a> {} · {}</div>',
                (
                    (reverse("admin:catalog_importjob_change", args=[job.pk]), job.pk, job.requested_at, job.status)
                    for job in jobs
                ),
            )
            or "—"
        )

    # -- re-import ------------------------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<path:object_id>/reimport/",
                self.admin_site.admin_view(self.reimport_view),
                name="catalog_source_reimport",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_reimport"] = can_reimport(request.user)
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.action(description="Re-import selected sources (in the background)", permissions=["reimport"])
    def reimport_sources(self, request, queryset):
        for source in queryset.order_by("name"):
            self._queue(request, source)
        return redirect("admin:catalog_importjob_changelist")

    @admin.action(description="Sync selected git sources now (in the background)", permissions=["reimport"])
    def sync_sources(self, request, queryset):
        for source in queryset.order_by("name"):
            if source.git_url:
                self._queue(request, source)
            else:
                self.message_user(request, f"{source.name}: not a git source (no repository)", messages.WARNING)
        return redirect("admin:catalog_importjob_changelist")

    def reimport_view(self, request, object_id):
        """GET: confirm (a POST form with CSRF). POST: queue the import and go to its job page."""
        if not can_reimport(request.user):
            raise PermissionDenied
        source = self.get_object(request, unquote(object_id))
        if source is None:
            raise Http404("no such source")
        if request.method == "POST":
            job = self._queue(request, source)
            if job is not None:
                return redirect("admin:catalog_importjob_change", job.pk)
        try:
            roots, error = ([], "") if source.git_url else (check_roots(source_roots(source)), "")
        except (ReimportError, RootNotAllowed) as exc:
            roots, error = [], str(exc)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{'Sync' if source.git_url else 'Re-import'} {source.name}",
            "opts": self.model._meta,
            "original": source,
            "roots": roots,
            "error": error,
        }
        return TemplateResponse(request, "admin/catalog/source/reimport_confirm.html", context)

    def _queue(self, request, source):
        if source.git_url:
            job, new = enqueue_sync(source, request.user)
            queued = "queued as" if new else "already queued as"
            self.message_user(request, f"{source.name}: sync {queued} job #{job.pk}.", messages.SUCCESS)
            return job
        try:
            job = enqueue(source, request.user)
        except (ReimportError, RootNotAllowed) as exc:
            self.message_user(request, f"{source.name}: not re-imported: {exc}", messages.ERROR)
            return None
        self.message_user(request, f"{source.name}: re-import queued as job #{job.pk}.", messages.SUCCESS)
        return job
