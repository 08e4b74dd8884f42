"""Machine tokens in prose (windows:process_creation:, security:4688, linux::auditd) that wrap only between
their parts: after a colon (a <wbr>) or a hyphen, never inside a word (issue 21: "process_c reation").

The page's CSS keeps `code.token` from breaking anywhere else (overflow-wrap: normal).
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def token(value) -> str:
    """`value` as <code class="token">, with a line-break opportunity after each colon (escaped)."""
    parts = str(value).split(":")
    inner = format_html_join(mark_safe(":<wbr>"), "{}", ((part,) for part in parts))  # a constant joiner
    return format_html('<code class="token">{}</code>', inner)
