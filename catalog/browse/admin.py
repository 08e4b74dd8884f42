"""Indicators and ATT&CK techniques: reference data that imports write, browsable here read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.models import Indicator, Rule, RuleIndicator, Technique
from catalog.platform.admin_access import ViewOnlyAdmin


class IndicatorRuleFilter(admin.SimpleListFilter):
    """?rule=<pk>: the indicators of one rule (linked from the rule page); in the sidebar only when used."""

    title = "rule"
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        value = request.GET.get(self.parameter_name, "")
        title = (
            Rule.objects.filter(pk=value).values_list("title", flat=True).first()
            if value.isascii() and value.isdigit()
            else None
        )
        return [(value, title)] if title else []

    def queryset(self, request, queryset):
        if self.value():
            if not (self.value().isascii() and self.value().isdigit()):
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
