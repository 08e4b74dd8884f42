"""A stored rule's query for a request (the rule page, /api/rules/<id>/query/): read from the cache,
else converted under the request's time and memory budget (catalog.conversion.budget).

An answer the budget cut short says so, and is taken out of the query cache again: a conversion
stopped because the machine was busy must not be served as the rule's query from then on.
"""

from __future__ import annotations

from catalog.models import Rule

from . import stored
from .budget import request_budget
from .converter import Choice, Conversion

# The query parameters a page (the rule page, the SIEM exports) reads to choose its conversion.
CONVERSION_PARAMETERS = ("target", "pipeline")


def rule_query(rule: Rule, choice: Choice) -> Conversion:
    with request_budget() as spent:
        conversion = stored.rule_query(rule, choice)
    if spent.ran_out:
        referenced, _ = stored.reference_closure([rule])[rule.pk]
        stored.cache().delete(stored.cache_key(rule, referenced, choice))
    return conversion
