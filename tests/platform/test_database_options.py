"""PostgreSQL connections start no parallel workers per query unless configured (CATALOG_DB_PARALLEL_WORKERS):
starting them cost a page query more than the query itself."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting"),
]


def test_a_connection_plans_no_parallel_workers():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
        cursor.execute("SHOW max_parallel_workers")  # the server's own setting is left as it is
        assert int(cursor.fetchone()[0]) > 0
