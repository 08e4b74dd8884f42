"""The indicator search's field <select> (catalog_tags.field_options): every field with its count, the current one
selected, each name escaped, the keyword pseudo-field left out."""

from html.parser import HTMLParser

import pytest

from catalog.templatetags.catalog_tags import field_options


class Options(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found, self._current = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "option":
            self._current = dict(attrs)

    def handle_data(self, data):
        if self._current is not None:
            self.found.append((self._current["value"], "selected" in self._current, data))
            self._current = None


def options(html: str) -> list[tuple]:
    parser = Options()
    parser.feed(html)
    return parser.found


def test_every_field_with_its_count_and_the_current_one_selected():
    fields = [{"field": "CommandLine", "n": 12}, {"field": "Image", "n": 3}, {"field": "", "n": 9}]
    assert options(field_options(fields, "Image")) == [
        ("CommandLine", False, "CommandLine (12)"),
        ("Image", True, "Image (3)"),
    ]
    assert [selected for _, selected, _ in options(field_options(fields, None))] == [False, False]


def test_a_hostile_field_name_is_escaped():
    html = field_options([{"field": '"><script>x</script>', "n": 1}], '"><script>x</script>')
    assert "<script>" not in html
    assert options(html) == [('"><script>x</script>', True, '"><script>x</script> (1)')]


@pytest.mark.django_db
def test_the_indicator_page_lists_the_fields(client, example_rules):
    html = client.get("/indicators/?field=CommandLine").content.decode()
    listed = options(html.split('id="ind-field"')[1].split("</select>")[0])
    assert listed[0] == ("", False, "any field")
    assert ("CommandLine", True) in [(value, selected) for value, selected, _ in listed]
    assert sum(selected for _, selected, _ in listed) == 1
