"""django-filter FilterSets, shared by the HTML list pages and the REST API (one per listing)."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from catalog.browse.queries.indicator_search import IndicatorFilterSet
from catalog.browse.queries.indicators import indicator_filterset
from catalog.browse.queries.kept_forms import KeptFormFilterSet
from catalog.models import Level, Rule, RuleIndicator, RuleTestEvent, RuleType, Status
from catalog.search import ranking

QUALITIES = ("high", "medium", "low", "clean")  # catalog.core.quality: a rule's worst finding, or none

SORTS = {
    "title": ("sort_title",),
    "-title": ("-sort_title",),
    "level": ("level_rank", "sort_title"),
    "-level": ("-level_rank", "sort_title"),
    "date": ("date", "sort_title"),
    "-date": ("-date", "sort_title"),
    "modified": ("modified", "sort_title"),
    "-modified": ("-modified", "sort_title"),
}


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


MAX_FACET_VALUES = 20  # repeated values of one parameter (OR-ed); more is a 400


class ManyValuesField(forms.Field):
    """Every value of a repeated parameter (`?level=high&level=critical`), blanks dropped."""

    widget = forms.MultipleHiddenInput  # reads QueryDict.getlist; a plain dict's single value also works

    def to_python(self, value):
        if value in (None, ""):
            return []
        values = [str(v).strip() for v in (value if isinstance(value, (list, tuple)) else [value])]
        values = [v for v in values if v]
        if len(values) > MAX_FACET_VALUES:
            raise forms.ValidationError(f"At most {MAX_FACET_VALUES} values.", code="too_many")
        return values


@extend_schema_field({"type": "array", "items": {"type": "string"}})  # repeated: ?tag=a&tag=b
class AnyOfFilter(django_filters.Filter):
    """One facet, several values: a rule matches when it has any of them (high OR critical).

    `lookup` builds the Q of one value; the values' Qs are OR-ed.
    """

    field_class = ManyValuesField

    def __init__(self, *args, lookup, distinct=False, **kwargs):
        super().__init__(*args, distinct=distinct, **kwargs)
        self.lookup = lookup

    def filter(self, qs, value):
        if not value:
            return qs
        wanted = Q()
        for one in value:
            wanted |= self.lookup(one)
        matched = qs.filter(wanted)
        return matched.distinct() if self.distinct else matched


def _technique_q(value: str) -> Q:
    """Rules tagged with this technique or one of its sub-techniques: `pk IN (tagged rule ids)`, not a join,
    so a rule is listed once without DISTINCT (a DISTINCT over every column made the count scan twice),
    and the database starts from the few tagged rows (a correlated EXISTS per rule is slower on SQLite)."""
    technique_id = value.upper()
    tagged = Rule.techniques.through.objects.filter(
        Q(technique__technique_id=technique_id) | Q(technique__technique_id__startswith=technique_id + ".")
    )
    return Q(pk__in=tagged.values("rule_id"))


def _tactic_q(value: str) -> Q:
    """Rules tagged with this tactic (an IN subquery, like _technique_q)."""
    return Q(pk__in=Rule.tactics.through.objects.filter(tactic__shortname=value).values("rule_id"))


class IndicatorSearchField(forms.CharField):
    """An indicator search's query string (`field=Image&value=net.exe`), checked like /indicators/ checks it."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        search = indicator_filterset(QueryDict(value))
        unknown = sorted(set(search.data) - set(IndicatorFilterSet.base_filters))
        if unknown:
            raise forms.ValidationError(f"Not an indicator search parameter: {', '.join(unknown)}.", code="unknown")
        if not search.is_valid():
            errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in search.errors.items())
            raise forms.ValidationError(f"Invalid indicator search: {errors}", code="invalid")
        return search


@extend_schema_field(OpenApiTypes.STR)
class IndicatorSearchFilter(django_filters.Filter):
    """Sets of indicators -> rules: the rules carrying any indicator that an indicator search finds."""

    field_class = IndicatorSearchField

    def filter(self, qs, value):
        if value is None:
            return qs
        carried = RuleIndicator.objects.filter(rule_id=OuterRef("pk"), indicator__in=value.qs.order_by().values("pk"))
        return qs.filter(Exists(carried))


class RuleFilterSet(KeptFormFilterSet):
    """Filters of /rules/ and /api/rules/. Every parameter name here is part of the URL contract."""

    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.MultipleChoiceFilter(choices=[(s, s) for s in Status.values])
    level = django_filters.MultipleChoiceFilter(method="filter_level", choices=[(v, v) for v in Level.values])
    product = AnyOfFilter(lookup=lambda v: Q(product=v))
    category = AnyOfFilter(lookup=lambda v: Q(category=v))
    service = AnyOfFilter(lookup=lambda v: Q(service=v))
    tactic = AnyOfFilter(lookup=_tactic_q)
    technique = AnyOfFilter(lookup=_technique_q, label="Technique (e.g. T1059, includes sub-techniques)")
    tag = AnyOfFilter(lookup=lambda v: Q(tag_text__contains=f"|{v.lower()}|"))
    author = AnyOfFilter(lookup=lambda v: Q(author__icontains=v))
    source = AnyOfFilter(lookup=lambda v: Q(source__name=v))
    type = django_filters.ChoiceFilter(field_name="rule_type", choices=[(t, t) for t in RuleType.values])
    retired = StrictBooleanFilter(method="filter_retired")
    verified = StrictBooleanFilter(field_name="verified")
    quality = django_filters.MultipleChoiceFilter(
        choices=[(q, q) for q in QUALITIES],
        label="Quality: the worst severity of the rule's findings (high, medium, low), or clean",
    )
    has_test_events = StrictBooleanFilter(method="filter_has_test_events", label="Has logged test events")
    indicators = IndicatorSearchFilter(
        label="Rules carrying any indicator of an indicator search (its query string, e.g. field=Image&value=net.exe)"
    )
    sort = django_filters.ChoiceFilter(method="filter_sort", choices=[(k, k) for k in SORTS], empty_label="relevance")

    class Meta:
        model = Rule
        fields = []

    def search(self, queryset, name, value):
        return ranking.search(queryset, value)  # ordered by relevance in queries.rules.sorted_rules

    def filter_level(self, queryset, name, values):
        return queryset.with_level(values) if values else queryset

    def filter_retired(self, queryset, name, value):
        # Retired rules are hidden unless asked for: retired=true shows only them, retired=false the rest.
        return queryset.filter(retired=value)

    def filter_has_test_events(self, queryset, name, value):
        tested = RuleTestEvent.objects.values("rule_id")  # pk IN (tested rule ids), like tactic/technique
        return queryset.filter(pk__in=tested) if value else queryset.exclude(pk__in=tested)

    def filter_sort(self, queryset, name, value):
        return queryset  # applied by queries.rules.sorted_rules, after annotation

    @property
    def qs(self):
        queryset = super().qs
        asked = self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("retired") is not None
        return queryset if asked else queryset.live()
