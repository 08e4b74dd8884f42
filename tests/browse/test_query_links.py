"""The list pages' query-string links (catalog_tags.qs, page_url) are what QueryDict's copy-and-set wrote."""

import pytest
from django.http import QueryDict
from django.test import RequestFactory

from catalog.templatetags.catalog_tags import PAGE_PARAMS, page_url, qs

QUERIES = ["", "q=powershell", "level=high&level=critical&page=3&q=lsass", "q=%C3%A9t%C3%A9+%26+co&tag=a%2Bb", "page=2"]


def by_copy(query: str, name: str, value, drop=()) -> str:
    params = QueryDict(query).copy()
    for key in drop:
        params.pop(key, None)
    if value is None:
        params.pop(name, None)
    else:
        params[name] = value
    return "?" + params.urlencode() if params else "?"


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize(("name", "value"), [("sort", "-modified"), ("level", "low"), ("q", None), ("page", None)])
def test_qs_sets_or_removes_one_parameter_back_on_page_one(query, name, value):
    context = {"request": RequestFactory().get("/rules/?" + query)}
    assert qs(context, name, value) == by_copy(query, name, value, drop=PAGE_PARAMS)


@pytest.mark.parametrize("query", QUERIES)
def test_page_url_keeps_every_other_parameter(query):
    context = {"request": RequestFactory().get("/rules/?" + query)}
    assert page_url(context, "page", 4) == by_copy(query, "page", 4)


def test_link_is_reverse_under_each_script_prefix():
    from django.urls import get_script_prefix, reverse, set_script_prefix

    from catalog.templatetags.catalog_tags import link

    assert link("browse:rule-list") == reverse("browse:rule-list")
    assert link("exports:siem-export", "splunk.conf") == reverse("exports:siem-export", args=["splunk.conf"])
    before = get_script_prefix()
    set_script_prefix("/catalog/")  # a deployment under a path: the kept link is not the root's
    try:
        assert link("browse:rule-list") == "/catalog/rules/" == reverse("browse:rule-list")
    finally:
        set_script_prefix(before)
    assert link("browse:rule-list") == "/rules/"
