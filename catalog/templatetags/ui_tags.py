"""Template helpers for acting on what a page shows: upstream links, empty values, sorting, empty results.

Everything returned as HTML goes through format_html (escaped); the rest is plain text that the
templates autoescape.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from catalog.platform import repository_links

register = template.Library()

# Sorts whose useful first click is descending: the most severe and the newest first.
DESCENDING_FIRST = ("level", "date", "modified")
# Parameters that narrow nothing: dropping them never widens an empty result.
NOT_FILTERS = ("sort", "page", "rules_page")


@register.filter
def upstream_url(rule) -> str:
    """The rule file's address upstream, at the commit its content was imported from when its source is a git
    source (catalog/platform/repository_links.py); '' when the source says nothing of where its files are."""
    source = rule.source
    return repository_links.file_url(source.base_url, source.git_url, source.git_paths, rule.path, rule.commit)


@register.filter
def commit_link(source, commit: str):
    """A commit as its short id, linked to its page when the source's forge is known; '' for no commit."""
    if not commit:
        return ""
    url = repository_links.commit_url(source.base_url, source.git_url, commit) if source else ""
    if url:
        return format_html('<a href="{}" rel="noopener"><code>{}</code></a>', url, commit[:12])
    return format_html("<code>{}</code>", commit[:12])


@register.filter
def indicator_value(value):
    """An indicator's value as code; an empty value says so in words (a link must never be empty)."""
    if value is None or value == "":
        return mark_safe('<em class="empty-value">empty string</em>')  # a constant: nothing to escape
    return format_html("<code>{}</code>", value)


@register.filter
def first_sort(key: str) -> str:
    """The sort a column's first click asks for: descending for level and dates, ascending otherwise."""
    return "-" + key if key in DESCENDING_FIRST else key


@register.simple_tag(takes_context=True)
def last_filter(context):
    """(name, value, URL without it) for the filter added last to the query string, or None.

    The rule list appends each filter it links to at the end of the query string, so the last
    parameter is the one that most likely emptied the result.
    """
    params = context["request"].GET.copy()
    names = [name for name in params if name not in NOT_FILTERS and any(v.strip() for v in params.getlist(name))]
    if not names:
        return None
    name = names[-1]
    value = ", ".join(params.getlist(name))
    for dropped in (name, "page", "rules_page"):
        params.pop(dropped, None)
    return {"name": name, "value": value, "href": "?" + params.urlencode() if params else "?"}
