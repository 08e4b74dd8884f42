"""Import runs: what each import read and changed, and every problem with its file and line (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.models import ImportRun
from catalog.platform.admin_access import ViewOnlyAdmin


def problem_table(problems) -> str:
    """Errors first, then warnings: `path:line: message`, as the import command prints them."""
    problems = sorted(problems or [], key=lambda p: (p.get("severity") != "error", p.get("path", ""), p.get("line", 0)))
    if not problems:
        return "None"
    rows = format_html_join(
        "",
        '<tr class="problem-{0}"><td>{0}</td><td><code>{1}:{2}</code></td><td>{3}</td></tr>',
        ((p.get("severity", "error"), p.get("path", ""), p.get("line", 0), p.get("message", "")) for p in problems),
    )
    return format_html(
        "<table><thead><tr><th>severity</th><th>where</th><th>message</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


@admin.register(ImportRun)
class ImportRunAdmin(ViewOnlyAdmin):
    list_display = [
        "started_at",
        "source_names",
        "files_read",
        "created",
        "updated",
        "unchanged",
        "retired",
        "warning_count",
        "error_count",
    ]
    list_filter = ["started_at"]
    date_hierarchy = "started_at"
    fields = readonly_fields = [
        "started_at",
        "finished_at",
        "source_names",
        "path_list",
        "files_read",
        "created",
        "updated",
        "unchanged",
        "retired",
        "warning_count",
        "error_count",
        "change_links",
        "problem_table",
    ]

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(description="sources")
    def source_names(self, obj):
        return ", ".join(obj.sources)

    @admin.display(description="paths")
    def path_list(self, obj):
        return format_html_join("", "<div><code>{}</code></div>", ((p,) for p in obj.paths)) or "—"

    @admin.display(description="changes")
    def change_links(self, obj):
        counts = {kind: len((obj.changes or {}).get(kind, [])) for kind in ("created", "updated", "retired")}
        return format_html(
            '{} created, {} updated, {} retired · <a href="{}?run={}">rules added, changed and retired</a>',
            counts["created"],
            counts["updated"],
            counts["retired"],
            reverse("changes:list"),
            obj.pk,
        )

    @admin.display(description="problems")
    def problem_table(self, obj):
        return problem_table(obj.problems)
