"""Facet counts (catalog.browse.queries.facet_counts, over the rule index) equal a straightforward count of the
matching rules.

The reference reads every matching rule in Python, the way the facets were counted before the
database did it: for each facet, the rules the list matches (without that facet's own filter when
it is in use, its values being OR-ed; live rules unless `retired` is asked), and the choices each
rule has. Checked on the example rules and on the SigmaHQ corpus, for plain lists, searches,
filters, a facet OR and retired rules.
"""

from collections import Counter

import pytest
from django.db.models import Count, Max
from django.http import QueryDict

from catalog.browse.queries import facet_counts, facets
from catalog.browse.queries.rules import cleaned, rule_filterset
from catalog.models import LEVELS, CatalogVersion, Rule

QUERIES = [
    "",
    "q=powershell",
    "level=high&level=critical",
    "tactic=discovery",
    "q=credential+dump&level=high&tactic=credential-access",
    "product=windows&category=process_creation&technique=T1059",
    "retired=true",
    "retired=false&source=sigmahq&source=examples",
    "q=whoami&sort=-modified",
]


def reference_counts(query: str) -> dict[str, Counter]:
    data = QueryDict(query)
    wanted_retired = cleaned(rule_filterset(data)).get("retired")
    values = rule_values()
    counts = {}
    for name, _ in facets.FACETS:
        without = data.copy()
        without.pop("retired", None)
        if name != "retired" and data.getlist(name):
            without.pop(name, None)
        filterset = rule_filterset(without)
        cleaned(filterset)
        rules = filterset.filter_queryset(filterset.queryset.all()).distinct()
        if name != "retired":
            rules = rules.filter(retired=bool(wanted_retired))
        counts[name] = Counter(value for pk in rules.values_list("pk", flat=True) for value in values[pk][name])
    return counts


_READ: dict[tuple, dict] = {}


def rule_values() -> dict[int, dict[str, list[str]]]:
    """Every rule's choices in every facet, read once (a few queries, not a few per rule and facet).

    Kept for the next test that finds the same catalog (every test's changes are rolled back, so the corpus
    tests of one process all see one state): reading SigmaHQ's 3,780 rules this way took 2 CPU-s a test.
    """
    state = (
        CatalogVersion.current(),
        *Rule.objects.aggregate(Count("pk"), Max("pk"), Max("content_hash"), Max("updated_at")).values(),
    )
    if state not in _READ:
        rules = Rule.objects.select_related("source").prefetch_related("tactics", "techniques", "test_events")
        _READ.clear()
        _READ[state] = {rule.pk: {name: _values(rule, name) for name, _ in facets.FACETS} for rule in rules}
    return _READ[state]


def _values(rule, name: str) -> list[str]:
    if name == "level":
        return [rule.level_override or rule.level]
    if name == "tactic":
        return [t.shortname for t in rule.tactics.all()]
    if name == "technique":
        return [t.technique_id for t in rule.techniques.all()]
    if name == "tag":
        return [t for t in rule.tag_text.split("|") if t]
    if name == "author":
        return sorted(facet_counts.authors(rule.author))
    if name == "source":
        return [rule.source.name]
    if name == "retired":
        return [str(rule.retired).lower()]
    if name == "has_test_events":
        return [str(bool(rule.test_events.all())).lower()]  # the prefetched list, not a query per rule
    return [getattr(rule, name)]


def check(query: str) -> None:
    data = QueryDict(query)
    expected = reference_counts(query)
    shown = {facet.name: facet for facet in facets.rule_facets(rule_filterset(data))}
    for name, counter in expected.items():
        nonempty = {str(v): n for v, n in counter.items() if v not in ("", None)}
        active = {v.lower() for v in data.getlist(name)}
        order = _order(name, nonempty)
        facet = shown[name]
        assert facet.total == len(nonempty), (query, name)
        assert [c.value for c in facet.choices] == [
            v for i, v in enumerate(order) if i < facets.FACET_LIMIT or v.lower() in active
        ], (query, name)
        assert {c.value: c.count for c in facet.choices} == {c.value: nonempty[c.value] for c in facet.choices}


def _order(name: str, counts: dict[str, int]) -> list[str]:
    if name == "level":
        return [lvl for lvl in reversed(LEVELS) if lvl in counts] + sorted(set(counts) - set(LEVELS))
    if name == "retired":
        return [v for v in ("false", "true") if v in counts]
    if name == "quality":  # worst first, as levels are
        return [v for v in ("high", "medium", "low", "clean") if v in counts]
    if name == "has_test_events":
        return [v for v in ("true", "false") if v in counts]
    return [v for v, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


@pytest.mark.parametrize("query", QUERIES)
def test_facet_counts_equal_a_reference_count_on_the_example_rules(example_rules, query):
    check(query)


@pytest.mark.parametrize("query", QUERIES)
def test_facet_counts_equal_a_reference_count_on_the_corpus(corpus, query):
    check(query)


def test_counts_are_not_empty(example_rules):
    """The comparison above is about something: the example rules fill the facets it compares."""
    shown = {facet.name: facet for facet in facets.rule_facets(rule_filterset(QueryDict("")))}
    live = {c.value: c.count for c in shown["retired"].choices}["false"]
    assert live == Rule.objects.live().count() > 0
    assert all(shown[name].choices for name in ("status", "tag", "author", "source", "tactic", "technique"))


def test_a_rule_with_several_asked_tactics_or_techniques_is_listed_once(client, example_rules):
    """Tactic and technique filters are IN subqueries (no join): a rule having two OR-ed values is one row."""
    rule = next(r for r in example_rules.prefetch_related("tactics", "techniques") if r.tactics.count() >= 2)
    tactics = [t.shortname for t in rule.tactics.all()]
    techniques = [t.technique_id for t in rule.techniques.all()] or ["T1059"]
    for name, values in (("tactic", tactics), ("technique", [*techniques, techniques[0].split(".")[0]])):
        query = "&".join(f"{name}={v}" for v in values)
        listed = client.get(f"/api/rules/?{query}&page_size=100").json()
        ids = [r["id"] for r in listed["results"]]
        assert str(rule.uuid) in ids and len(ids) == len(set(ids)) == listed["count"], query
