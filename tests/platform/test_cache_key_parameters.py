"""Every parameter a public page reads survives the page cache's key normalisation (catalog.platform.cache_keys).

Anonymous requests have undeclared parameters stripped before the view runs, so a parameter a view reads but
does not declare (catalog.platform.parameters) is silently ignored in production (most tests run with the page cache
off; tests/platform/test_parameter_declarations.py catches such reads).
Here the cache is on, and each page must answer differently with and without its parameter.
"""

import pytest
from django.test import override_settings


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/attack/", "uncovered=1"),
        ("/attack/tactics/execution/", "uncovered=1"),
        ("/rules/", "has_test_events=false"),
        ("/rules/", "level=high"),
    ],
)
def test_a_read_parameter_changes_the_cached_page(client, example_rules, path, parameter):
    with override_settings(CATALOG_PAGE_CACHE_SECONDS=600):
        plain = client.get(path)
        with_parameter = client.get(f"{path}?{parameter}")
    assert plain.status_code == with_parameter.status_code == 200
    assert plain.content != with_parameter.content, parameter
