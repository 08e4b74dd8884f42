"""The list filtersets build their form class once (catalog.browse.queries.kept_forms), and each request still has a
form of its own: its own fields, data and errors."""

import pytest
from django.http import QueryDict
from django_filters import CharFilter

from catalog.browse.queries.filtersets import RuleFilterSet
from catalog.browse.queries.indicators import indicator_filterset
from catalog.browse.queries.rules import rule_filterset

pytestmark = pytest.mark.django_db


def test_one_form_class_per_filterset_class_and_a_form_per_request():
    first, second = rule_filterset(QueryDict("level=high")), rule_filterset(QueryDict("level=bogus&sort=title"))
    assert type(first.form) is type(second.form)  # built once
    assert type(indicator_filterset(QueryDict()).form) is not type(first.form)  # each filterset class its own
    assert first.form.fields is not second.form.fields
    second.form.fields["level"].choices = [("only", "only")]  # what one request does to its form ...
    assert ("high", "high") in first.form.fields["level"].choices  # ... reaches no other
    assert ("high", "high") in rule_filterset(QueryDict()).form.fields["level"].choices
    assert first.is_valid() and first.form.cleaned_data["level"] == ["high"]
    assert not second.is_valid() and "level" in second.errors and "level" not in first.errors


def test_a_subclass_builds_its_own_form_class():
    parent_form = rule_filterset(QueryDict()).form  # the parent's, built first

    class Wider(RuleFilterSet):
        extra = CharFilter(field_name="title")

    assert "extra" in Wider(QueryDict()).form.fields and "extra" not in parent_form.fields
    assert "extra" not in rule_filterset(QueryDict()).form.fields


def test_each_request_has_filters_of_its_own():
    first, second = rule_filterset(QueryDict("level=high")), rule_filterset(QueryDict("level=critical"))
    level = RuleFilterSet.base_filters["level"]
    assert first.filters["level"] is not second.filters["level"] is not level
    assert first.filters["level"].parent is first and second.filters["level"].parent is second
    assert getattr(level, "parent", None) is None  # the class's filter belongs to no request
    second.filters["level"].extra["help_text"] = "changed"  # what one request does to its filters ...
    second.filters["level"].field_name = "title"
    assert "help_text" not in first.filters["level"].extra and "help_text" not in level.extra  # ... reaches no other
    assert rule_filterset(QueryDict()).filters["level"].field_name == level.field_name != "title"
    assert [r.level for r in first.qs] and {r.level for r in first.qs} <= {"high"}


def test_a_filter_method_runs_on_its_own_filterset():
    searched = rule_filterset(QueryDict("q=lsass"))
    assert searched.filters["q"].method is not None  # the search filter is a `method=` filter
    assert searched.filters["q"].filter.f is searched.filters["q"]  # its proxy calls this request's filterset
    assert searched.is_valid() and searched.qs.count() < rule_filterset(QueryDict()).qs.count()
