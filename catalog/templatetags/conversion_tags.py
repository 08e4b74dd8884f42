"""The rule page's "Query" section (templates/catalog/_query.html): the rule converted for a target.

A tag rather than view code, so the section is one include line in the rule page and its
conversion is done (or read from the cache: one read) only where the section is rendered, under the
request's conversion budget. A
target, pipeline or format the URL names but that is not installed is shown as the section's
error, like a rule the backend cannot convert: the page itself still renders.
"""

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from catalog.conversion import requested
from catalog.conversion.converter import choose
from catalog.conversion.targets import UnknownChoice, registry

register = template.Library()


@register.simple_tag(takes_context=True)
def rule_conversion(context, rule):
    """What _query.html shows: targets (as links), the chosen target's pipelines, and the conversion."""
    params = context["request"].GET
    reg = registry()
    section = {"targets": reg.ordered(), "error": "", "conversion": None, "choice": None}
    try:
        choice = choose(params.get("target"), params.get("pipeline"))
    except UnknownChoice as exc:
        section["error"] = str(exc)
        choice = choose(None)  # the tabs and the pipeline list still show the default target
    else:
        section["conversion"] = requested.rule_query(rule, choice)
    section["choice"] = choice
    section["pipelines"] = [reg.pipelines[p] for p in choice.target.pipelines]
    query = {"target": choice.target.id, "pipeline": choice.pipeline}
    section["api_url"] = reverse("api:rule-query", args=[rule.uuid]) + "?" + urlencode(query)
    return section
