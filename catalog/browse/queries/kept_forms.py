"""A FilterSet whose form class is built once per FilterSet class, not once per request.

django-filter builds a new form class for every FilterSet instance (`get_form_class`: a form field per filter, its
label worked out through gettext), then Django's form deep-copies those fields again. For the rule list's 18
filters that was about 2 ms of every list page and API call. The classes here have fixed choices (no choices read
from the database, no queryset per request), so the class built first serves every request; each form instance
still gets its own deep copy of the fields, as Django's forms always do, so nothing one request does to its form
reaches another.
"""

import django_filters


class KeptFormFilterSet(django_filters.FilterSet):
    def get_form_class(self):
        kept = type(self).__dict__.get("_kept_form_class")  # this class's own, never a parent's
        if kept is None:  # two threads may both build it: the same class either way
            kept = super().get_form_class()
            type(self)._kept_form_class = kept
        return kept
