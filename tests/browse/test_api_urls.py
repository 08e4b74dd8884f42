"""API links built from a route reversed once (catalog.browse.api_urls) equal Django's reverse(), every time."""

import uuid

import pytest
from django.test import RequestFactory
from django.urls import clear_script_prefix, reverse, set_script_prefix

from catalog.browse.api_urls import api_url


@pytest.mark.parametrize(
    "name,args",
    [
        ("rule-detail", (uuid.UUID("7aaaf4b8-e47c-4295-92ee-6ed40a6f60c8"),)),
        ("rule-detail", (uuid.uuid4(),)),
        ("indicator-detail", (7,)),
        ("indicator-detail", (123456789012,)),
        ("technique-detail", ("T1059.001",)),  # text: reversed as before
        ("field-detail", ("Image|contains",)),
        ("rule-list", ()),
    ],
)
@pytest.mark.parametrize("prefix", ["/", "/catalog/"])
def test_api_url_equals_reverse(name, args, prefix):
    request = RequestFactory().get("/api/rules/", HTTP_HOST="testserver")
    set_script_prefix(prefix)
    try:
        expected = request.build_absolute_uri(reverse(f"browse:api-{name}", args=args))
        assert api_url(request, name, *args) == expected
        assert api_url(request, name, *args) == expected  # the kept template gives the same again
    finally:
        clear_script_prefix()
    assert expected.startswith("http://testserver" + prefix)
