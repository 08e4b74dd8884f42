"""Template helpers for the catalog pages: query-string links, labels, YAML highlighting.

Only the Pygments output, `marked` and the rule rows are marked safe: each escapes the text first. Everything else
goes through Django's autoescaping.
"""

from functools import lru_cache
from urllib.parse import urlencode

import yaml
from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import YamlLexer

from catalog.browse import rule_rows as rule_rows_of
from catalog.browse.queries import events, fields, indicators
from catalog.browse.queries.attack import heat
from catalog.core.reference import attack
from catalog.platform import links

register = template.Library()

PAGE_PARAMS = ("page", "rules_page")
_FORMATTER = HtmlFormatter(cssclass="highlight", linenos="inline", wrapcode=True)
_LEXER = YamlLexer()


@register.simple_tag(takes_context=True)
def qs(context, name, value):
    """The current query string with `name` set to `value` (None removes it); back to page 1."""
    return "?" + _with(context["request"].GET, name, value, drop=PAGE_PARAMS)


@register.simple_tag(takes_context=True)
def page_url(context, param, number):
    """The current query string on another page of the listing paginated by `param`."""
    return "?" + _with(context["request"].GET, param, number)


def _with(query, name, value, drop=()) -> str:
    """`query` (a QueryDict) encoded as QueryDict.urlencode does, with `name`'s values replaced by `value` where they
    were (else at the end; None removes them) and the `drop` parameters left out. Not QueryDict.copy(): a deep copy,
    and a list page has a dozen of these links."""
    pairs, placed = [], value is None
    for key, values in query.lists():
        if key in drop:
            continue
        if key == name:
            if not placed:
                pairs.append((key, value))
                placed = True
            continue
        pairs.extend((key, v) for v in values)
    if not placed:
        pairs.append((name, value))
    return urlencode(pairs)


@register.simple_tag
def link(view_name, *args):
    """`{% url %}` for the links every page of a kind shows (the navigation, the export links), reversed once per
    process, URLconf and script prefix: Django's reverse costs about 50 us here, and a list page made 25 of them."""
    return _reversed(get_urlconf(), get_script_prefix(), view_name, args)


@lru_cache(maxsize=512)
def _reversed(urlconf, prefix: str, view_name: str, args: tuple) -> str:
    return reverse(view_name, urlconf=urlconf, args=args)  # `prefix`: reverse reads the same one itself


@register.simple_tag(takes_context=True)
def hidden_params(context, *skip):
    """The current query parameters except `skip` (and page), for a GET form that keeps them."""
    params = context["request"].GET
    return [
        (key, value) for key in params for value in params.getlist(key) if key not in skip and key not in PAGE_PARAMS
    ]


@register.simple_tag
def active_filters(filterset):
    """(parameter, value) of every filter in use, so each can be shown and removed."""
    filterset.is_valid()  # runs validation, so cleaned_data is there
    active = []
    for name, value in getattr(filterset.form, "cleaned_data", {}).items():
        if name == "sort" or value in (None, "", [], ()):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        active.append((name, ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)))
    return active


@register.filter
def plain_value(value):
    """A non-standard rule field's value as short text (lists and maps in YAML flow style)."""
    if isinstance(value, str):
        return value
    return (
        yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1000)
        .strip()
        .removesuffix("...")
        .strip()
    )


@register.filter
def highlight_yaml(text):
    """YAML as written, highlighted with CSS classes (the stylesheet holds light and dark colours)."""
    return mark_safe(_highlighted(text or ""))  # Pygments escapes its input


@lru_cache(maxsize=512)
def _highlighted(text: str) -> str:
    # Highlighting is the slowest part of a rule page; a rule's text only changes with an import.
    return highlight(text, _LEXER, _FORMATTER)


@register.filter
def line_count(text):
    return (text or "").count("\n") + 1


@register.filter
def event_label(event_id):
    return "any event" if event_id is None else f"Event ID {event_id}"


@register.filter
def event_param(event_id):
    return events.event_param(event_id)


@register.filter
def field_label(name):
    return name if name else "(keywords)"


@register.simple_tag
def field_options(fields, current) -> str:
    """The indicator search's field <option>s, `current` selected: about 430 of them for SigmaHQ, built here in
    about half a millisecond (escaped as the template escaped them), where a template loop took 10 ms."""
    current = "" if current is None else str(current)
    return format_html_join(
        "",
        '<option value="{}"{}>{} ({})</option>',
        (
            (
                row["field"],
                mark_safe(" selected") if row["field"] == current else "",
                row["field"],  # the keyword pseudo-field (no name) is left out, so a name is its own label
                row["n"],
            )
            for row in fields
            if row["field"]
        ),
    )


@register.filter
def field_param(name):
    return fields.field_param(name)


@register.filter
def rarity(count):
    """CSS class telling unique (1 rule), common (>= COMMON_INDICATOR rules) and other indicators apart."""
    if count is None or count <= 1:
        return "ind-rare"
    if count >= indicators.COMMON_INDICATOR:
        return "ind-common"
    return "ind-shared"


@register.filter
def heat_class(count):
    return f"heat-{heat(count or 0)}"


@register.filter
def web_url(url):
    return links.web_url(url)


@register.simple_tag
def logsource_label(product, category, service):
    """'windows / process_creation': the set parts of a log source, '—' when none is set."""
    return " / ".join(part for part in (product, category, service) if part) or "—"


@register.filter
def show_value(value):
    """A predicate value as Sigma means it: null for None, the text otherwise."""
    return "null" if value is None else str(value)


@register.simple_tag(takes_context=True)
def json_twin(context):
    """The page's JSON twin: `api_url` when the view names one, else the same path under /api/."""
    return context.get("api_url") or "/api" + context["request"].get_full_path()


@register.simple_tag
def attack_terms():
    return attack.ATTACK_TERMS


@register.filter
def marked(snippet):
    """A search snippet as HTML, its marks as <mark> (catalog.browse.rule_rows.marked escapes the text first)."""
    return mark_safe(rule_rows_of.marked(snippet))


@register.simple_tag(takes_context=True)
def rule_rows(context, rules):
    """The rows of a rule table, each rendered once per catalog version (catalog.browse.rule_rows)."""
    return rule_rows_of.rows(context.get("request"), rules)
