"""`{% facet_panel facets active %}`: the rule list's facet panel, rendered by Jinja2.

templates/jinja2/browse/_facet_panel.html says why. The panel is the same markup the Django template wrote, and
Jinja2 escapes what it prints as Django does (the backend turns autoescaping on).
"""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

register = template.Library()
PANEL = "browse/_facet_panel.html"


@register.simple_tag
def facet_panel(facets, active) -> str:
    """The panel's HTML, or '' when no facet offers a choice (an empty result: no empty box is shown)."""
    if not any(facet.choices for facet in facets):
        return ""
    html = engines["jinja2"].get_template(PANEL).render({"facets": facets, "active": len(active or ())})
    return mark_safe(html)  # rendered with autoescaping: every value in it is escaped
