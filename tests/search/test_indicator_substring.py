"""The indicator value search through the trigram indexes (catalog.search.substring) finds exactly what a plain
substring scan finds: the same indicators for short, long, quoted, upper-case and punctuated values."""

import pytest
from django.db.models import Q

from catalog.browse.queries.indicators import indicator_filterset, searched_indicators
from catalog.models import Indicator


def plain_scan(value: str) -> set[int]:
    """The reference: every listed indicator read and compared in Python, no index involved."""
    wanted, folded = value.lower(), value.casefold()
    return {
        pk
        for pk, stored, display in Indicator.objects.filter(Q(corpus_count__gt=0) | Q(exclude_count__gt=0)).values_list(
            "pk", "value", "display"
        )
        if folded in stored or wanted in display.lower()
    }


@pytest.mark.parametrize(
    "value", ["whoami", "WHOAMI", "net.exe", "\\net", "po", "e", '"quoted"', 'a"b', "-enc", "powershell.exe", "zzzqqq"]
)
def test_value_search_equals_a_plain_scan(example_rules, value):
    found = {i.pk for i in searched_indicators(indicator_filterset({"value": value}))}
    assert found == plain_scan(value)


def test_the_comparison_is_about_something(example_rules):
    assert plain_scan("powershell") and plain_scan("exe") and plain_scan("e")


def test_new_indicators_are_found_after_an_import(db, examples):
    from catalog.importing.importer import import_paths

    rule = next(examples.rglob("*.yml"))
    rule.write_text(
        rule.read_text().replace(
            "detection:", "detection:\n    marker:\n        Image|endswith: '\\\\zqxtrigram.exe'", 1
        )
    )
    import_paths([str(examples)], source="trigram")
    assert plain_scan("zqxtrigram")
    found = {i.pk for i in searched_indicators(indicator_filterset({"value": "zqxtrigram"}))}
    assert found == plain_scan("zqxtrigram")
