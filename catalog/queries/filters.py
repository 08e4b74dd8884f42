"""django-filter FilterSets, shared by the HTML list pages and the REST API (one per listing)."""

import django_filters
from django import forms
from django.db.models import Q

from catalog.models import Indicator, Level, Rule, RuleType, Status
from catalog.search import ranking

SORTS = {
    "title": ("title",),
    "-title": ("-title",),
    "level": ("level_rank", "title"),
    "-level": ("-level_rank", "title"),
    "date": ("date", "title"),
    "-date": ("-date", "title"),
    "modified": ("modified", "title"),
    "-modified": ("-modified", "title"),
}
INDICATOR_KINDS = [
    "eq",
    "starts_with",
    "ends_with",
    "match",
    "keyword",
    "regex",
    "cidr",
    "exists",
    "null",
    "neq",
    "fieldref",
    "lt",
    "lte",
    "gt",
    "gte",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
]


class StrictBooleanField(forms.NullBooleanField):
    """true/false/1/0 (or empty); anything else is a form error (a 400), never silently ignored."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, "", "unknown"):
            return None
        if str(value).lower() in ("true", "1"):
            return True
        if str(value).lower() in ("false", "0"):
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class RuleFilterSet(django_filters.FilterSet):
    """Filters of /rules/ and /api/rules/. Every parameter name here is part of the URL contract."""

    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.MultipleChoiceFilter(choices=[(s, s) for s in Status.values])
    level = django_filters.MultipleChoiceFilter(method="filter_level", choices=[(v, v) for v in Level.values])
    product = django_filters.CharFilter(field_name="product")
    category = django_filters.CharFilter(field_name="category")
    service = django_filters.CharFilter(field_name="service")
    tactic = django_filters.CharFilter(field_name="tactics__shortname", distinct=True)
    technique = django_filters.CharFilter(
        method="filter_technique", label="Technique (e.g. T1059, includes sub-techniques)"
    )
    tag = django_filters.CharFilter(method="filter_tag")
    author = django_filters.CharFilter(field_name="author", lookup_expr="icontains")
    source = django_filters.CharFilter(field_name="source__name")
    type = django_filters.ChoiceFilter(field_name="rule_type", choices=[(t, t) for t in RuleType.values])
    retired = StrictBooleanFilter(method="filter_retired")
    verified = StrictBooleanFilter(field_name="verified")
    sort = django_filters.ChoiceFilter(method="filter_sort", choices=[(k, k) for k in SORTS], empty_label="relevance")

    class Meta:
        model = Rule
        fields = []

    def search(self, queryset, name, value):
        return ranking.search(queryset, value)  # ordered by relevance in queries.rules.sorted_rules

    def filter_level(self, queryset, name, values):
        return queryset.with_level(values) if values else queryset

    def filter_technique(self, queryset, name, value):
        return queryset.with_technique(value)

    def filter_tag(self, queryset, name, value):
        return queryset.with_tag(value)

    def filter_retired(self, queryset, name, value):
        # Retired rules are hidden unless asked for: retired=true shows only them, retired=false the rest.
        return queryset.filter(retired=value)

    def filter_sort(self, queryset, name, value):
        return queryset  # applied by queries.rules.sorted_rules, after annotation

    @property
    def qs(self):
        queryset = super().qs
        asked = self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("retired") is not None
        return queryset if asked else queryset.live()


class IndicatorFilterSet(django_filters.FilterSet):
    """Filters of /indicators/ and /api/indicators/: field, kind and a case-insensitive value substring."""

    field = django_filters.CharFilter(field_name="field")
    kind = django_filters.ChoiceFilter(choices=[(k, k) for k in INDICATOR_KINDS])
    value = django_filters.CharFilter(method="filter_value", label="Value contains")
    min_count = django_filters.NumberFilter(field_name="corpus_count", lookup_expr="gte", label="At least N rules")

    class Meta:
        model = Indicator
        fields = []

    def filter_value(self, queryset, name, value):
        # Indicator values are stored casefolded unless cased/regex: match both forms.
        return queryset.filter(Q(value__contains=value.casefold()) | Q(display__icontains=value))
