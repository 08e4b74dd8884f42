"""Filters of the API-only listings (fields, ATT&CK, events). Rules and indicators use catalog.filters."""

import django_filters

from catalog.browse.queries.filtersets import StrictBooleanFilter
from catalog.models import EventType, FieldSummary, Technique


class CoveredFilterMixin(django_filters.FilterSet):
    covered = StrictBooleanFilter(method="filter_covered", label="true: only with rules; false: only coverage gaps")

    def filter_covered(self, queryset, name, value):
        # `rule_count` is annotated by the view (non-hidden, non-retired rules).
        return queryset.filter(rule_count__gt=0) if value else queryset.filter(rule_count=0)


class TechniqueFilterSet(CoveredFilterMixin):
    tactic = django_filters.CharFilter(field_name="tactics__shortname", distinct=True)
    known = StrictBooleanFilter(field_name="known")

    class Meta:
        model = Technique
        fields = []


class EventFilterSet(CoveredFilterMixin):
    provider = django_filters.CharFilter(field_name="provider", lookup_expr="iexact")

    class Meta:
        model = EventType
        fields = []


class FieldFilterSet(django_filters.FilterSet):
    """Like /fields/: counts restricted to the rules of one log source (exact values). The parameters are
    applied by catalog.browse.queries.fields.field_counts (FieldList.filter_queryset), the same query as /fields/."""

    q = django_filters.CharFilter(field_name="field", lookup_expr="icontains", label="Field name contains")
    product = django_filters.CharFilter(field_name="product")
    category = django_filters.CharFilter(field_name="category")
    service = django_filters.CharFilter(field_name="service")

    class Meta:
        model = FieldSummary
        fields = []
