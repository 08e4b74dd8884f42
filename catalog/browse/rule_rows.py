"""A rule table's rows (templates/includes/_rule_table.html), each rendered once per catalog version.

A row shows only what the catalog holds about its rule (title, badges, log source, description, level,
techniques, date), so it is kept as a fragment (catalog.platform.fragments) under the catalog version
and the rule's id. A listing then reads the page's rule ids (a narrow query: no wide rule row, no
techniques), takes the rows already rendered from the cache, and reads and renders only the others
(2 queries: the rules with their source, their techniques). Rendering 50 rows through the template
engine cost more than the rest of a list page; a page of rows all kept costs one cache round trip.

A search shows a snippet of its own instead of the description: a row is kept in three parts, head,
description and tail, and the snippet (marked by catalog_tags.marked) goes in the middle.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.template.defaultfilters import truncatechars
from django.template.loader import get_template
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

from catalog.models import Rule
from catalog.platform import fragments
from catalog.search.snippets import START, STOP

ROW_TEMPLATE = "includes/_rule_row.html"
SUMMARY = "\x00summary\x00"  # where a row's summary goes: a NUL never comes out of escaped text
DESCRIPTION_CHARACTERS = 300


class ListedRules:
    """The rules of one listing page by id, in order: what a rule table needs, read in one narrow query.

    `snippets` ({id: snippet}) is set by a search (catalog.browse.queries.answers). Iterating gives the
    rules themselves (read then, with their source and techniques), for any other reader of the page.
    """

    def __init__(self, queryset):
        self.queryset = queryset
        self.ids = list(queryset.values_list("pk", flat=True))
        self.snippets: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return iter(_rules_by_id(self.ids)[pk] for pk in self.ids)

    def __getitem__(self, index):
        return list(self)[index]


def listed(queryset) -> ListedRules:
    return ListedRules(queryset)


def rows(request, rules) -> list[SafeString]:
    """The table rows of `rules` (a ListedRules, a queryset or a list of rules), in their order."""
    snippets: dict[int, str] = {}
    loaded: dict[int, Rule] = {}
    if isinstance(rules, ListedRules):
        ids, snippets = rules.ids, rules.snippets
    elif isinstance(rules, QuerySet) and rules._result_cache is None and fragments.enabled():
        ids = list(rules.values_list("pk", flat=True))
    else:  # rules already read (a match result), or no fragments: read them as they come
        loaded = {rule.pk: rule for rule in rules}
        ids = list(loaded)
    version = fragments.version(request) if fragments.enabled() else 0
    keys = {pk: fragments.key(version, "rule-row", pk) for pk in ids}
    found = fragments.get_many(keys.values())
    missing = [pk for pk in ids if keys[pk] not in found]
    if missing:
        unread = [pk for pk in missing if pk not in loaded]
        loaded.update(_rules_by_id(unread) if unread else {})
        template = get_template(ROW_TEMPLATE)
        rendered = {keys[pk]: _parts(template, loaded[pk]) for pk in missing}
        fragments.set_many(rendered)
        found.update(rendered)
    return [_row(found[keys[pk]], snippets.get(pk, "")) for pk in ids]


def _rules_by_id(ids: list[int]) -> dict[int, Rule]:
    return {rule.pk: rule for rule in Rule.objects.filter(pk__in=ids).for_listing()}


def _parts(template, rule: Rule) -> tuple[str, str, str]:
    """(head, description, tail) of a rule's row; the description is the summary a row shows outside a
    search, cut to the column."""
    head, _, tail = str(template.render({"rule": rule, "summary": SUMMARY})).partition(SUMMARY)
    description = truncatechars(rule.description, DESCRIPTION_CHARACTERS) if rule.description else ""
    return head, " " + str(conditional_escape(description)) if description else "", tail


def _row(parts: tuple[str, str, str], snippet: str) -> SafeString:
    head, description, tail = parts
    return mark_safe(head + (" " + marked(snippet) if snippet else description) + tail)  # every part escaped


def marked(snippet: str) -> str:
    """A search snippet as HTML: the text escaped, the database's START/STOP marks (catalog.search.snippets)
    turned into <mark>. The marks are control characters a document never holds (catalog.search.index drops
    them from descriptions), so escaping leaves them alone and no text forges one."""
    html = escape(snippet or "").replace(START, "<mark>").replace(STOP, "</mark>")
    if html.count("<mark>") != html.count("</mark>"):  # a mark cut by the snippet's end: close it
        html += "</mark>"
    return html
