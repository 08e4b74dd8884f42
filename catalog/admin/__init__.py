"""The curators' admin.

Sigma content comes only from imports, so every Sigma field is read-only for everyone and a
rule's change form holds the curation fields alone: the "change rule" permission can only ever
change curation. Saves go through catalog.curation (verification stamps, local tags feeding the
tag filter column, curation-only UPDATEs); bulk actions log one history entry per changed rule.
Indicators, techniques, sources and import runs are shown read-only. Re-importing a source is
for superusers and holders of `catalog.reimport_source`.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import smart_split, unescape_string_literal

from catalog import curation
from catalog.importing.reimport import reimport
from catalog.models import LEVELS, ImportRun, Indicator, Predicate, Rule, RuleIndicator, Source, Stage, Technique
from catalog.queries.history import rule_history
from catalog.web.changes import rule_url

admin.site.site_header = "Sigma rule catalog administration"
admin.site.site_title = "Sigma rule catalog admin"
admin.site.index_title = "Curation and imports"

# The only rule fields a form may change; verified_by / verified_at are stamped, never typed.
EDITABLE_FIELDS = ["note", "verified", "hidden", "local_tags_added", "local_tags_removed", "level_override", "fp_note"]
REIMPORT_PERMISSION = "catalog.reimport_source"


# -- the rule form --------------------------------------------------------------------------------
class TagListField(forms.CharField):
    """A list of tags edited as comma-separated text."""

    def prepare_value(self, value):
        return curation.format_tags(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            return list(value)
        try:
            return curation.parse_tag_text(super().to_python(value))
        except curation.CurationError as exc:
            raise ValidationError(str(exc)) from None


class RuleCurationForm(forms.ModelForm):
    local_tags_added = TagListField(
        required=False,
        label=curation.field_label("local_tags_added"),
        help_text="Comma-separated tags added to the rule's Sigma tags in this catalog (kept across re-imports).",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    local_tags_removed = TagListField(
        required=False,
        label=curation.field_label("local_tags_removed"),
        help_text="Comma-separated Sigma tags hidden in this catalog (kept across re-imports).",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    level_override = forms.ChoiceField(
        required=False,
        label=curation.field_label("level_override"),
        choices=[("", "— keep the Sigma level —")] + [(level, level) for level in LEVELS],
    )

    class Meta:
        model = Rule
        fields = EDITABLE_FIELDS
        widgets = {
            "note": forms.Textarea(attrs={"rows": 4, "cols": 80}),
            "fp_note": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }
        labels = {name: curation.field_label(name) for name in EDITABLE_FIELDS}
        help_texts = {
            "verified": "Turning this on records you and the time; turning it off clears both.",
            "hidden": "Hidden rules are removed from every public page, listing and API (their page is a 404).",
        }


class TagActionForm(forms.Form):
    tag = forms.CharField(max_length=200, help_text="One tag, e.g. attack.t1059.001 or local.reviewed")

    def clean_tag(self):
        try:
            return curation.clean_tag(self.cleaned_data["tag"])
        except curation.CurationError as exc:
            raise ValidationError(str(exc)) from None


# -- rule list filters -------------------------------------------------------------------------------
class CurationFilter(admin.SimpleListFilter):
    title = "curation"
    parameter_name = "curation"
    QUERIES = {
        "curated": ("any curation", None),
        "verified": ("verified", Q(verified=True)),
        "unverified": ("not verified", Q(verified=False)),
        "hidden": ("hidden", Q(hidden=True)),
        "note": ("has a note", ~Q(note="")),
        "fp_note": ("has a false-positive note", ~Q(fp_note="")),
        "local_tags": ("has local tags", ~Q(local_tags_added=[]) | ~Q(local_tags_removed=[])),
        "level_override": ("level overridden", ~Q(level_override="")),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.QUERIES.items()]

    def queryset(self, request, queryset):
        if self.value() == "curated":
            return queryset.filter(pk__in=curation.curated_rules().values("pk"))
        if self.value() in self.QUERIES:
            return queryset.filter(self.QUERIES[self.value()][1])
        return queryset


# -- read-only inlines ------------------------------------------------------------------------------
class DisplayFormSet(forms.BaseInlineFormSet):
    """An inline formset that only displays: rows are capped, counted, and rendered as plain cells.

    Its template posts empty management counts, so saving the rule never builds, validates or
    saves a form per row (a SigmaHQ rule can carry thousands of indicators).
    """

    limit = 250
    columns: list = []  # (label, function(obj) -> cell), set by DisplayInline.get_formset

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            full = super().get_queryset()
            self.total_count = full.count()
            self._queryset = full[: self.limit]
        return self._queryset

    @property
    def column_labels(self):
        return [label for label, _ in self.columns]

    @property
    def display_rows(self):
        return [[function(obj) for _, function in self.columns] for obj in self.get_queryset()]

    @property
    def more(self):
        self.get_queryset()
        return self.total_count - len(self._queryset)


class DisplayInline(admin.TabularInline):
    """Parsed content shown on the rule page: never edited, visible to whoever may view the rule."""

    formset = DisplayFormSet
    template = "admin/catalog/display_inline.html"
    extra = 0
    max_num = 0
    can_delete = False
    columns: list[tuple[str, str]] = []  # (label, method name or model attribute)
    limit = 250
    more_link = None  # a function(parent) -> URL listing every row

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **{**kwargs, "fields": []})  # no form fields: display only
        formset.limit = self.limit
        formset.columns = [(label, self._cell(name)) for label, name in self.columns]
        formset.more_url = self.more_link(obj) if (self.more_link and obj is not None) else None
        return formset

    def _cell(self, name):
        method = getattr(self, name, None)
        return method if callable(method) else (lambda obj: getattr(obj, name))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("catalog.view_rule") or request.user.has_perm("catalog.change_rule")


class StageInline(DisplayInline):
    model = Stage
    verbose_name_plural = "stages (0 = the condition)"
    columns = [("index", "index"), ("name", "name"), ("items combine with", "combine"), ("text", "stage_text")]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("index")

    def stage_text(self, obj):
        return format_html("<pre>{}</pre>", obj.text)


class PredicateInline(DisplayInline):
    model = Predicate
    columns = [
        ("stage", "stage_index"),
        ("group", "group"),
        ("field", "field_name"),
        ("modifiers", "modifier_chain"),
        ("values", "value_list"),
        ("values combine", "combine"),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("stage").order_by("stage__index", "position")

    def stage_index(self, obj):
        return f"{obj.stage.index}: {obj.stage.name}"

    def field_name(self, obj):
        return obj.field or "(keywords)"

    def modifier_chain(self, obj):
        return "|".join(obj.modifiers)

    def value_list(self, obj):
        return format_html_join(
            "", "<div><code>{}</code></div>", ((v if isinstance(v, str) else repr(v),) for v in obj.values)
        )


class RuleIndicatorInline(DisplayInline):
    model = RuleIndicator
    verbose_name = "indicator"
    verbose_name_plural = "indicators"
    columns = [
        ("field", "indicator_field"),
        ("kind", "indicator_kind"),
        ("value", "written"),
        ("transforms", "indicator_transforms"),
        ("corpus count", "corpus_count"),
    ]

    @staticmethod
    def more_link(rule):
        return reverse("admin:catalog_indicator_changelist") + f"?rule={rule.pk}"

    def get_queryset(self, request):
        # One query for the whole list, however many indicators the rule has.
        return super().get_queryset(request).select_related("indicator").order_by("position")

    def indicator_field(self, obj):
        return obj.indicator.field or "(keyword)"

    def indicator_kind(self, obj):
        return obj.indicator.kind

    def indicator_transforms(self, obj):
        return " ".join(filter(None, [obj.indicator.transforms, "cased" if obj.indicator.cased else ""]))

    def corpus_count(self, obj):
        url = reverse("admin:catalog_indicator_change", args=[obj.indicator_id])
        return format_html('<a href="{}">{}</a>', url, obj.indicator.corpus_count)


# -- rules ------------------------------------------------------------------------------------------
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


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
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
        (
            "Curation",
            {
                "fields": [
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
            },
        ),
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
            curation.set_verified(obj, new, request.user.username)
        curation.save_curation(obj, hidden_changed="hidden" in form.changed_data)

    def get_search_results(self, request, queryset, search_term):
        """All words must match the rule's search text (title, id, tags, indicator values)."""
        for word in smart_split(search_term.strip()):
            if word[:1] in "\"'" and word[-1:] == word[:1] and len(word) > 1:
                word = unescape_string_literal(word)
            if word.lower().startswith("tag:") and len(word) > 4:
                queryset = queryset.filter(tag_text__contains=f"|{word[4:].casefold()}|")
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
        return (
            format_html_join(
                "", '<div><a href="{0}" rel="noopener noreferrer">{0}</a></div>', ((r,) for r in obj.references)
            )
            or "—"
        )

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
        return render_to_string("catalog/_history.html", rule_history(obj))

    # -- bulk actions --------------------------------------------------------------------------------
    def _bulk(self, request, queryset, edit, done):
        changes = curation.apply_edit_many(curation.rules_for_curation(queryset), edit, request.user)
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
        self._bulk(request, queryset, curation.Edit(verified=True), "Verified")

    @admin.action(description="Mark selected rules as not verified", permissions=["change"])
    def unverify(self, request, queryset):
        self._bulk(request, queryset, curation.Edit(verified=False), "Unverified")

    @admin.action(description="Hide selected rules from the public catalog", permissions=["change"])
    def hide(self, request, queryset):
        self._bulk(request, queryset, curation.Edit(hidden=True), "Hid")

    @admin.action(description="Unhide selected rules", permissions=["change"])
    def unhide(self, request, queryset):
        self._bulk(request, queryset, curation.Edit(hidden=False), "Unhid")

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
            edit = curation.Edit(add_tags=[tag]) if add else curation.Edit(remove_tags=[tag])
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


# -- indicators, techniques ---------------------------------------------------------------------------
class ViewOnlyAdmin(admin.ModelAdmin):
    """Data that only imports write: browsable, never edited here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class IndicatorRuleFilter(admin.SimpleListFilter):
    """?rule=<pk>: the indicators of one rule (linked from the rule page); in the sidebar only when used."""

    title = "rule"
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        value = request.GET.get(self.parameter_name, "")
        title = Rule.objects.filter(pk=value).values_list("title", flat=True).first() if value.isdigit() else None
        return [(value, title)] if title else []

    def queryset(self, request, queryset):
        if self.value():
            if not self.value().isdigit():
                return queryset.none()
            return queryset.filter(rule_indicators__rule_id=int(self.value()))
        return queryset


@admin.register(Indicator)
class IndicatorAdmin(ViewOnlyAdmin):
    list_display = ["display", "field", "kind", "transforms", "cased", "corpus_count"]
    list_filter = [IndicatorRuleFilter, "kind", "cased"]
    search_fields = ["value", "display", "field"]
    search_help_text = "An indicator value or a field name."
    fields = ["field", "kind", "display", "value", "transforms", "cased", "corpus_count", "rules_carrying"]
    readonly_fields = fields
    RULES_SHOWN = 200

    @admin.display(description="rules")
    def rules_carrying(self, obj):
        rows = list(
            RuleIndicator.objects.filter(indicator=obj)
            .select_related("rule")
            .order_by("rule__title")
            .values_list("rule_id", "rule__title", "written", "rule__hidden")[: self.RULES_SHOWN]
        )
        return (
            format_html_join(
                "",
                '<div><a href="{}">{}</a> <code>{}</code>{}</div>',
                (
                    (reverse("admin:catalog_rule_change", args=[pk]), title, written, " (hidden)" if hidden else "")
                    for pk, title, written, hidden in rows
                ),
            )
            or "—"
        )


@admin.register(Technique)
class TechniqueAdmin(ViewOnlyAdmin):
    list_display = ["technique_id", "name", "known", "rule_count"]
    list_filter = ["known", "tactics"]
    search_fields = ["technique_id", "name"]
    fields = readonly_fields = ["technique_id", "name", "known", "tactic_names", "rule_count"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_rules=Count("rules", distinct=True)).prefetch_related("tactics")

    @admin.display(description="rules", ordering="n_rules")
    def rule_count(self, obj):
        url = reverse("admin:catalog_rule_changelist") + f"?q=tag%3Aattack.{obj.technique_id.lower()}"
        return format_html('<a href="{}">{}</a>', url, obj.n_rules)

    @admin.display(description="tactics")
    def tactic_names(self, obj):
        return ", ".join(t.name for t in obj.tactics.all()) or "—"


# -- sources and import runs --------------------------------------------------------------------------
def can_reimport(user) -> bool:
    return user.is_active and (user.is_superuser or user.has_perm(REIMPORT_PERMISSION))


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "rule_count", "last_imported_at"]
    search_fields = ["name", "location"]
    readonly_fields = ["created_at", "last_imported_at", "rule_count"]
    actions = ["reimport_sources"]
    change_form_template = "admin/catalog/source/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_rules=Count("rules"))

    @admin.display(description="rules", ordering="n_rules")
    def rule_count(self, obj):
        url = reverse("admin:catalog_rule_changelist") + f"?source__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, getattr(obj, "n_rules", "—"))

    def has_reimport_permission(self, request):
        return can_reimport(request.user)

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

    @admin.action(description="Re-import selected sources", permissions=["reimport"])
    def reimport_sources(self, request, queryset):
        return self._report(request, [reimport(source) for source in queryset.order_by("name")])

    def reimport_view(self, request, object_id):
        """GET: confirm (a POST form with CSRF). POST: run the import and show its report."""
        if not can_reimport(request.user):
            raise PermissionDenied
        source = self.get_object(request, unquote(object_id))
        if source is None:
            raise Http404("no such source")
        if request.method == "POST":
            return self._report(request, [reimport(source)])
        from catalog.importing.reimport import ReimportError, source_roots

        try:
            roots, error = source_roots(source), ""
        except ReimportError as exc:
            roots, error = [], str(exc)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Re-import {source.name}",
            "opts": self.model._meta,
            "original": source,
            "roots": roots,
            "error": error,
        }
        return TemplateResponse(request, "admin/catalog/source/reimport_confirm.html", context)

    def _report(self, request, results):
        context = {
            **self.admin_site.each_context(request),
            "title": "Import report",
            "opts": self.model._meta,
            "results": results,
        }
        return TemplateResponse(request, "admin/catalog/source/reimport_report.html", context)


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
            reverse("changes"),
            obj.pk,
        )

    @admin.display(description="problems")
    def problem_table(self, obj):
        """Errors first, then warnings: `path:line: message`, as the import command prints them."""
        problems = sorted(
            obj.problems or [], key=lambda p: (p.get("severity") != "error", p.get("path", ""), p.get("line", 0))
        )
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
