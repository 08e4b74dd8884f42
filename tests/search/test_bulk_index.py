"""PostgreSQL's search documents are written with their weighted vectors in one statement (catalog.search.index):
the vectors are exactly Django's SearchVector of the same columns and weights."""

import pytest
from django.contrib.postgres.search import SearchVector
from django.db import connection

from catalog.models.search import RuleSearch
from catalog.search.index import WEIGHTS

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's tsvector")


def test_document_vectors_are_the_weighted_vectors_of_their_columns(generated_rules):
    generated_rules(5)
    expected = None
    for column, weight in WEIGHTS:
        part = SearchVector(column, weight=weight, config="english")
        expected = part if expected is None else expected + part
    rows = list(RuleSearch.objects.annotate(expected=expected).values_list("vector", "expected"))
    assert len(rows) >= 5 and all(vector == wanted and vector for vector, wanted in rows)
