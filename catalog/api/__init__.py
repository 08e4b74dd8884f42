"""The read-only REST API (/api/): the machine-readable twin of every catalog page.

Lists use the same FilterSets as the HTML pages (catalog.filters), so a query string means the
same thing on /rules/ and /api/rules/. Hidden rules never appear; every view runs a constant
number of SQL queries (pinned in tests/test_api.py).
"""
