"""The rule page's "Query" section (templates/conversion/_query.html): the rule converted for a target.

The rule page's view (catalog.browse.views.rule_detail) builds it and passes it to the template as
`query_section`, so the conversion (or its cache read: one query) is counted with the view's
queries and done under the request's conversion budget. A target, pipeline or format the URL
names but that is not installed is shown as the section's error, like a rule the backend cannot
convert: the page itself still renders.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.http import urlencode

from catalog.models import Rule

from . import requested
from .constraint import WHAT_NARROWS
from .converter import Choice, choose
from .layout import query_lines
from .targets import NO_PIPELINE, UnknownChoice, registry


def query_section(rule: Rule, params) -> dict:
    """What _query.html shows: targets (as links), the chosen target's pipelines, and the conversion
    with its display lines (catalog.conversion.layout).

    `params` are the request's query parameters (`target`, `pipeline`).
    """
    reg = registry()
    section = {"targets": reg.ordered(), "error": "", "conversion": None, "choice": None, "lines": []}
    try:
        choice = choose(params.get("target"), params.get("pipeline"))
    except UnknownChoice as exc:
        section["error"] = str(exc)
        choice = choose(None)  # the tabs and the pipeline list still show the default target
    else:
        section["conversion"] = conversion = requested.rule_query(rule, choice)
        section["lines"] = query_lines(conversion.query) if conversion.query is not None else []
    section["choice"] = choice
    section["pipeline_options"] = pipeline_options(choice)
    conversion = section["conversion"]
    section["narrowed_by"] = WHAT_NARROWS.get(choice.target.family, "")
    # A target that routes this rule's log source to other pipelines (catalog.conversion.known) says so.
    section["routed"] = conversion is not None and conversion.pipeline != choice.pipeline
    query = {"target": choice.target.id, "pipeline": choice.pipeline}
    section["api_url"] = reverse("conversion:api-rule-query", args=[rule.uuid]) + "?" + urlencode(query)
    return section


def pipeline_options(choice: Choice) -> list[tuple[str, str, bool]]:
    """The pipeline picker's (value, label, selected): the target's default set first, each pipeline, none."""
    reg = registry()
    target = choice.target
    options = []
    if "," in target.default_pipeline:  # a set of several: one choice of its own
        options.append((target.default_pipeline, f"{target.default_pipeline} — the default"))
    options += [(p, f"{p} — {reg.pipelines[p].name}") for p in target.pipelines]
    options.append((NO_PIPELINE, f"{NO_PIPELINE} — Sigma's field names as written"))
    chosen = set(choice.pipelines)
    return [(value, label, set(value.split(",")) - {NO_PIPELINE} == chosen) for value, label in options]
