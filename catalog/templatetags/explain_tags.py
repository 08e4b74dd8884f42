"""Template helpers for explanations: an event value with the part a rule matched marked.

The value is escaped piece by piece (format_html), and only the <mark> elements are markup.
"""

from django import template
from django.utils.html import format_html, format_html_join

from catalog.core.sigma.explain import highlight

register = template.Library()


@register.simple_tag
def highlighted(predicate: dict):
    """The predicate's event value, each matched span in <mark>."""
    pieces = highlight(predicate.get("event_value"), predicate.get("matches") or [])
    return format_html_join("", "{}", ((format_html("<mark>{}</mark>", t) if lit else t,) for t, lit in pieces))


@register.filter
def verdict(result) -> str:
    """true / false / unknown, for CSS classes and labels."""
    return "true" if result is True else "false" if result is False else "unknown"


@register.simple_tag
def upload_limits() -> dict:
    """The upload limits the /match/ form states (settings CATALOG_MATCH_MAX_UPLOAD_BYTES / _FILE_EVENTS per file,
    _MAX_UPLOAD_FILES / _MAX_UPLOAD_TOTAL_BYTES per upload)."""
    from django.conf import settings

    return {
        "bytes": settings.CATALOG_MATCH_MAX_UPLOAD_BYTES,
        "events": settings.CATALOG_MATCH_MAX_FILE_EVENTS,
        "files": settings.CATALOG_MATCH_MAX_UPLOAD_FILES,
        "total": min(
            settings.CATALOG_MATCH_MAX_UPLOAD_TOTAL_BYTES,
            settings.CATALOG_MATCH_MAX_UPLOAD_BYTES * settings.CATALOG_MATCH_MAX_UPLOAD_FILES,
        ),
    }


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)
