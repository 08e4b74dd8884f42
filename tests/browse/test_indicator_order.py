"""A value search of /indicators/ is ordered as suits its size (catalog.browse.queries.indicators.sorted_by_size):
few matches are found by the value's trigram index and sorted, many are read along the order's index. Either way
the rows and their order are those of the plain order."""

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from catalog.browse.queries import indicators
from catalog.browse.queries.indicators import ORDER, indicator_filterset, searched_indicators, sorted_by_size
from catalog.platform.paging import KnownCountPaginator

pytestmark = pytest.mark.django_db


def page_sql(queryset) -> str:
    with CaptureQueriesContext(connection) as queries:
        list(KnownCountPaginator(queryset, 50).page(1))
    [page] = [q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"]]
    return page


@pytest.mark.parametrize("value", ["whoami", "exe", "\\"])
def test_the_rows_and_their_order_are_the_plain_orders(corpus, value):
    found = searched_indicators(indicator_filterset(QueryDict(f"value={value}")))
    assert found.by_size is not None  # a value search
    plain = list(found.order_by(*ORDER).values_list("pk", flat=True)[:50])
    paged = [row.pk for row in KnownCountPaginator(found, 50).page(1)]
    assert paged == plain and plain


def test_few_matches_are_sorted_and_many_walk_the_order(corpus):
    few = searched_indicators(indicator_filterset(QueryDict("value=whoami")))
    many = searched_indicators(indicator_filterset(QueryDict("value=e")))
    listed = indicators.listed_indicators().count()
    assert few.count() ** 2 <= 50 * listed < many.count() ** 2
    assert " + 0" in page_sql(few)  # an order key no index holds: the matches are found first, then sorted
    assert " + 0" not in page_sql(many)


def test_an_exclusion_search_is_sorted_by_its_own_first_key(corpus):
    found = searched_indicators(indicator_filterset(QueryDict("value=whoami&polarity=excludes")))
    sorted_rows = sorted_by_size(indicators.EXCLUDED_ORDER, found, 50, 1)
    assert '"exclude_count" + 0' in str(sorted_rows.query).replace("catalog_indicator.", "")
    assert list(sorted_rows.values_list("pk", flat=True)) == list(found.values_list("pk", flat=True))


def test_a_search_without_a_value_has_no_size_hint(corpus):
    assert not hasattr(searched_indicators(indicator_filterset(QueryDict("kind=eq"))), "by_size")
