"""Absolute API links for serializers: one `reverse()` per route and script prefix, not one per row.

A list of 500 rules links each row's detail; `reverse()` walks the URL resolver every time (about 60 µs, a
sizeable part of a large API page). A route reversed once with a placeholder id gives a template that the
row's id is put into. Only ids whose text needs no quoting take that path (UUIDs, integers); any other argument
is reversed as before, so what a link looks like never depends on the shortcut.
"""

from __future__ import annotations

import functools
import uuid

from django.urls import get_script_prefix, reverse

PLACEHOLDERS = {uuid.UUID: "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f", int: "918273645"}


def api_url(request, name: str, *args) -> str:
    """The absolute URL of `browse:api-<name>` with `args`."""
    kinds = tuple(type(arg) for arg in args)
    if all(kind in PLACEHOLDERS for kind in kinds):
        template = _template(name, kinds, get_script_prefix())
        if template is not None:
            path = template.format(*(str(arg) for arg in args))
            return request.build_absolute_uri(path)
    return request.build_absolute_uri(reverse(f"browse:api-{name}", args=args))


@functools.lru_cache(maxsize=256)
def _template(name: str, kinds: tuple, prefix: str) -> str | None:
    """The route's path with `{0}`, `{1}`... where its arguments go (None when a placeholder is ambiguous)."""
    placeholders = [PLACEHOLDERS[kind] for kind in kinds]
    values = [kind(placeholder) for kind, placeholder in zip(kinds, placeholders, strict=True)]
    path = reverse(f"browse:api-{name}", args=values)
    if "{" in path or "}" in path or any(path.count(p) != 1 for p in placeholders):
        return None
    for index, placeholder in enumerate(placeholders):
        path = path.replace(placeholder, f"{{{index}}}")
    return path
