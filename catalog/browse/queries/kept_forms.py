"""A FilterSet whose form class is built once per FilterSet class, and whose filters are copied cheaply per request.

django-filter builds a new form class for every FilterSet instance (`get_form_class`: a form field per filter, its
label worked out through gettext), then Django's form deep-copies those fields again. For the rule list's 18
filters that was about 2 ms of every list page and API call. The classes here have fixed choices (no choices read
from the database, no queryset per request), so the class built first serves every request; each form instance
still gets its own deep copy of the fields, as Django's forms always do, so nothing one request does to its form
reaches another.

django-filter also deep-copies the class's filters for each instance (`copy.deepcopy(self.base_filters)`): every
choice list, widget and label again, about 1 ms a request. The class's filters here are a `SharedFilters`, whose
copy gives each instance filters of its own (its `parent`, `model`, lazily built `field`) with their own `extra`
dict (and, for a filter with `method=`, its own proxy to its own FilterSet's method), and shares only what
django-filter never changes after the class is built (the choice lists, the lookup).
"""

import copy

import django_filters


class SharedFilters(dict):
    """A FilterSet class's filters: `copy.deepcopy` of them (each FilterSet instance's) copies each filter and its
    `extra` keyword arguments one level deep."""

    def __deepcopy__(self, memo):
        return {name: _own(one) for name, one in self.items()}


def _own(one: django_filters.Filter) -> django_filters.Filter:
    mine = copy.copy(one)
    mine.extra = dict(one.extra)  # django-filter assigns into it (a queryset, choices): never into the class's
    if one.method is not None:  # `method=`: its proxy (FilterMethod) names the filter whose parent it calls
        mine.method = one.method
    return mine


class KeptFormFilterSet(django_filters.FilterSet):
    @classmethod
    def get_filters(cls):
        return SharedFilters(super().get_filters())

    def get_form_class(self):
        kept = type(self).__dict__.get("_kept_form_class")  # this class's own, never a parent's
        if kept is None:  # two threads may both build it: the same class either way
            kept = super().get_form_class()
            type(self)._kept_form_class = kept
        return kept
