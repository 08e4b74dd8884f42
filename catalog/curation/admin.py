"""The rule admin: Sigma content read-only for everyone, curation editable, bulk curation actions.

Sigma content comes only from imports, so every Sigma field is read-only and a rule's change form
holds the curation fields alone: the "change rule" permission can only ever change curation.
Saves go through catalog.curation (verification stamps, local tags feeding the tag filter column,
curation-only UPDATEs, `hidden` through catalog.publishing.visibility); bulk actions log one history entry per
changed rule.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.text import smart_split, unescape_string_literal

from catalog.changes.history import rule_history
from catalog.changes.queries import rule_url
from catalog.curation.admin_filters import CurationFilter
from catalog.curation.admin_inlines import PredicateInline, RuleIndicatorInline, StageInline
from catalog.curation.edits import Edit, apply_edit_many, rules_for_curation, save_form, set_verified
from catalog.curation.forms import RuleCurationForm, TagActionForm
from catalog.models import Rule
from catalog.platform.links import web_url
from catalog.publishing.deletion import PublishOnceOnDelete

SIGMA_READONLY = [
    "uuid",
    "title",
    "rule_type",
    "name",
    "status",
    "level",
    "description",
    "author",
    "date",
    "modified",
    "license",
    "reference_links",
    "falsepositive_list",
    "sigma_tags",
    "related",
    "logsource_display",
    "source",
    "path",
    "doc_line",
    "retired",
    "warning_list",
    "correlation",
    "filter_rules",
]
CURATION_LAYOUT = [
    "note",
    "verified",
    ("verified_by", "verified_at"),
    "hidden",
    "local_tags_added",
    "local_tags_removed",
    "effective_tag_list",
    "level_override",
    "fp_note",
]


@admin.register(Rule)
class RuleAdmin(PublishOnceOnDelete):
    form = RuleCurationForm
    list_display = [
        "title",
        "level_display",
        "status",
        "source",
        "verified",
        "hidden",
        "has_note",
        "retired",
        "modified",
    ]
    list_select_related = ["source"]
    list_filter = [
        CurationFilter,
        "status",
        "level",
        "source",
        ("tactics", admin.RelatedFieldListFilter),
        "retired",
        "rule_type",
        "product",
    ]
    search_help_text = (
        "Words match the title, id, tags and indicator values (all words must match; quote a phrase). "
        "tag:NAME finds an exact (effective) tag."
    )
    search_fields = ["title"]  # shows the search box; get_search_results does the real work
    list_per_page = 50
    inlines = [StageInline, PredicateInline, RuleIndicatorInline]
    actions = ["verify", "unverify", "hide", "unhide", "add_local_tag", "remove_local_tag"]
    readonly_fields = [
        "verified_by",
        "verified_at",
        "effective_tag_list",
        *SIGMA_READONLY,
        "yaml_display",
        "content_hash",
        "created_at",
        "updated_at",
        "last_changed_run",
        "history_display",
    ]
    fieldsets = [
        ("Curation", {"fields": CURATION_LAYOUT}),
        ("Sigma rule (from the import; read-only)", {"fields": SIGMA_READONLY}),
        ("Rule body", {"fields": ["yaml_display"]}),
        (
            "Import",
            {"classes": ["collapse"], "fields": ["content_hash", "created_at", "updated_at", "last_changed_run"]},
        ),
        ("History", {"fields": ["history_display"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source", "last_changed_run")

    def has_add_permission(self, request):
        return False  # rules come from imports only

    def view_on_site(self, obj):
        return None if obj.hidden else rule_url(str(obj.uuid))

    # The Sigma fields stay read-only even if a form is posted with them: they are not form fields.
    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if "verified" in form.changed_data:
            new = obj.verified
            obj.verified = form.initial.get("verified", False)
            set_verified(obj, new, request.user.username)
        save_form(obj, hidden=form.hidden_change)

    def get_search_results(self, request, queryset, search_term):
        """All words must match the rule's search text (title, id, tags, indicator values)."""
        for word in smart_split(search_term.strip()):
            if word[:1] in "\"'" and word[-1:] == word[:1] and len(word) > 1:
                word = unescape_string_literal(word)
            if word.lower().startswith("tag:") and len(word) > 4:
                queryset = queryset.with_tag(word[4:])
            elif word:
                queryset = queryset.filter(search_text__contains=word.casefold())
        return queryset, False

    # -- list columns and read-only displays -------------------------------------------------------
    @admin.display(description="level", ordering="level")
    def level_display(self, obj):
        if obj.level_override:
            return format_html("{} <small>(Sigma: {})</small>", obj.level_override, obj.level or "none")
        return obj.level

    @admin.display(description="note", boolean=True)
    def has_note(self, obj):
        return bool(obj.note or obj.fp_note)

    @admin.display(description="effective tags")
    def effective_tag_list(self, obj):
        return ", ".join(obj.effective_tags) or "—"

    @admin.display(description="Sigma tags")
    def sigma_tags(self, obj):
        return ", ".join(obj.tags) or "—"

    @admin.display(description="references")
    def reference_links(self, obj):
        """http(s) references as links; anything else (javascript:, data:, ...) as plain text, as on public pages."""
        rows = (
            format_html('<div><a href="{0}" rel="noopener noreferrer">{0}</a></div>', url)
            if (url := web_url(reference))
            else format_html("<div>{}</div>", reference)
            for reference in obj.references
        )
        return format_html_join("", "{}", ((row,) for row in rows)) or "—"

    @admin.display(description="false positives")
    def falsepositive_list(self, obj):
        return format_html_join("", "<div>{}</div>", ((f,) for f in obj.falsepositives)) or "—"

    @admin.display(description="log source")
    def logsource_display(self, obj):
        return ", ".join(f"{k}: {v}" for k, v in obj.logsource.items()) or "—"

    @admin.display(description="import warnings")
    def warning_list(self, obj):
        return (
            format_html_join("", "<div>line {}: {}</div>", ((w.get("line"), w.get("message")) for w in obj.warnings))
            or "—"
        )

    @admin.display(description="YAML")
    def yaml_display(self, obj):
        return format_html("<pre>{}</pre>", obj.yaml_text)

    @admin.display(description="history")
    def history_display(self, obj):
        return render_to_string("changes/_history.html", rule_history(obj))

    # -- bulk actions --------------------------------------------------------------------------------
    def _bulk(self, request, queryset, edit, done):
        changes = apply_edit_many(rules_for_curation(queryset), edit, request.user)
        total = queryset.count()
        self.message_user(
            request,
            f"{done} {len(changes)} rule{'s' if len(changes) != 1 else ''}"
            + (f" ({total - len(changes)} already so)" if total != len(changes) else "")
            + ".",
            messages.SUCCESS,
        )

    @admin.action(description="Mark selected rules as verified", permissions=["change"])
    def verify(self, request, queryset):
        self._bulk(request, queryset, Edit(verified=True), "Verified")

    @admin.action(description="Mark selected rules as not verified", permissions=["change"])
    def unverify(self, request, queryset):
        self._bulk(request, queryset, Edit(verified=False), "Unverified")

    @admin.action(description="Hide selected rules from the public catalog", permissions=["change"])
    def hide(self, request, queryset):
        self._bulk(request, queryset, Edit(hidden=True), "Hid")

    @admin.action(description="Unhide selected rules", permissions=["change"])
    def unhide(self, request, queryset):
        self._bulk(request, queryset, Edit(hidden=False), "Unhid")

    @admin.action(description="Add a local tag to selected rules…", permissions=["change"])
    def add_local_tag(self, request, queryset):
        return self._tag_action(request, queryset, "add_local_tag", "Add a local tag", add=True)

    @admin.action(description="Remove a tag locally from selected rules…", permissions=["change"])
    def remove_local_tag(self, request, queryset):
        return self._tag_action(request, queryset, "remove_local_tag", "Remove a tag locally", add=False)

    def _tag_action(self, request, queryset, action, title, add):
        """An intermediate page asks for the tag; its POST ("apply") comes back to the action."""
        form = TagActionForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            tag = form.cleaned_data["tag"]
            edit = Edit(add_tags=[tag]) if add else Edit(remove_tags=[tag])
            self._bulk(request, queryset, edit, f"Tag {tag!r} {'added to' if add else 'removed from'}")
            return None
        rules = list(queryset.select_related(None).only("pk", "title", "uuid").order_by("title"))
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
            "form": form,
            "rules": rules,
            "action": action,
            "adding": add,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/catalog/rule/tag_action.html", context)
