"""Pure-Python Sigma core: YAML files -> parsed rules -> stages, predicates, indicators.

Nothing in this package imports Django, so it can be tested and reused without a database.
"""
