"""The long repetitive parts of /coverage/ as HTML: checkboxes, matrix cells, blind spots.

Hundreds of checkboxes and matrix cells cost ~0.5 s through the template engine (a variable lookup,
localization and escaping per value, a URL reversal per link) and a few milliseconds here: each
text value is escaped with the standard library's html.escape (what django.utils.html.escape does,
without its lazy-string wrapper), and the page's template includes the result.
Technique links use the /attack/<id>/ path of config/urls.py (a public URL contract).
"""

from __future__ import annotations

from functools import lru_cache
from html import escape as _escape

from django.utils.safestring import mark_safe


@lru_cache(maxsize=16_384)
def escape(text: str) -> str:
    """html.escape, remembered: the same titles, names and tokens come back on every request."""
    return _escape(text)


def _checkbox(name: str, token: str, checked: bool, label: str) -> str:
    mark = " checked" if checked else ""
    return f'<label class="check"><input type="checkbox" name="{name}" value="{escape(token)}"{mark}> {label}</label>'


def provider_boxes(provider: dict) -> str:
    whole = provider["whole"]
    parts = [
        _checkbox(
            "events",
            whole["token"],
            whole["checked"],
            f"every {escape(provider['name'])} event <code>{escape(whole['token'])}</code>",
        )
    ]
    for event in provider["events"]:
        label = f"<code>{event['event_id']}</code> {escape(event['title'])}"
        parts.append(_checkbox("events", event["token"], event["checked"], label))
    return mark_safe("\n".join(parts))


def logsource_boxes(sources: list[dict]) -> str:
    parts = []
    for source in sources:
        plural = "" if source["rules"] == 1 else "s"
        label = f'<code>{escape(source["token"])}</code> <span class="muted">{source["rules"]} rule{plural}</span>'
        parts.append(_checkbox("logsources", source["token"], source["checked"], label))
    return mark_safe("\n".join(parts))


def _link(technique_id: str, inner: str) -> str:
    return f'<a href="/attack/{escape(technique_id)}/">{inner}</a>'


def matrix_cells(cells) -> str:
    parts = []
    for cell in cells:
        tid = escape(cell.technique_id)
        top = (
            f'<span class="cell-top"><span class="tid">{tid}</span> <span class="cell-count" '
            f'title="runnable / catalog rules">{cell.count}/{cell.total}</span></span> '
            f'<span class="tname">{escape(cell.name or "unknown")}</span>'
        )
        subs = ""
        if cell.subs_total:  # listed in full under "Blind spots"; here how many run
            subs = f'<span class="cell-subs">{cell.subs_covered}/{cell.subs_total} sub-techniques covered</span>'
        parts.append(f'<li class="cell heat-{cell.heat}">{_link(cell.technique_id, top)}{subs}</li>')
    return mark_safe("".join(parts))


def blind_cells(cells) -> str:
    parts = []
    for cell in cells:
        plural = "" if cell.total == 1 else "s"
        text = _link(
            cell.technique_id, f'<span class="tid">{escape(cell.technique_id)}</span> {escape(cell.name or "unknown")}'
        )
        text += f' <span class="muted">({cell.total} rule{plural} in the catalog)</span>'
        options = [
            f"collect <code>{escape(o['token'])}</code> to run {o['rules']} more rule{'' if o['rules'] == 1 else 's'}"
            for o in cell.suggestions
        ]
        if options:
            text += ": " + "; ".join(options)
        parts.append(f"<li>{text}</li>")
    return mark_safe("".join(parts))
