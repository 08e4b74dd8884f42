"""The rule list's facet panel, rendered by Jinja2 (catalog.templatetags.facet_tags): the markup the pages and
their tests rely on, every value escaped, the first 8 choices shown and the rest behind "more"."""

from html.parser import HTMLParser

from catalog.browse.queries.facets import Facet, FacetChoice
from catalog.templatetags.facet_tags import facet_panel


class Collected(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: str) -> Collected:
    collected = Collected()
    collected.feed(html)
    collected.close()
    return collected


def test_values_are_escaped_and_links_kept():
    hostile = FacetChoice("x", '<script>alert("a")</script>', 3, href='?author=a"b&c=<d>')
    html = facet_panel([Facet("author", "Author <i>", [hostile], 1)], [])
    assert "<script>" not in html and "<i>" not in html
    page = parsed(html)
    assert ("a", {"href": '?author=a"b&c=<d>'}) in page.tags  # the attribute as given, once unescaped
    assert '<script>alert("a")</script>' in page.text and "Author <i>" in page.text


def test_first_eight_then_more_and_active_choices_marked():
    choices = [FacetChoice(f"v{n}", f"value {n}", 100 - n, active=n == 9, href=f"?tag=v{n}") for n in range(12)]
    html = facet_panel([Facet("tag", "Tag", choices, 40)], [("tag", "v9")])
    shown, more = html.split("<summary>4 more</summary>")
    assert shown.count('class="facet-label"') == 8 and more.count('class="facet-label"') == 4
    assert '<li class="active"><a href="?tag=v9" aria-current="true" title="Remove this filter">' in more
    assert "Top 12 of 40: search or filter to narrow." in more
    assert '<span class="facet-toggle-count">(1 active)</span>' in shown


def test_no_choices_no_panel():
    assert facet_panel([Facet("tag", "Tag", [], 0)], []) == ""
