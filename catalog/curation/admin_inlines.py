"""Display-only inlines: the parsed stages, predicates and indicators shown on a rule's admin page.

Parsed content comes from imports and is never edited here. Rows are capped and rendered as plain
cells by templates/admin/catalog/display_inline.html, so a rule with thousands of indicators costs
the same queries as a small one and saving the rule builds no form per row.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.models import Predicate, RuleIndicator, Stage


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
