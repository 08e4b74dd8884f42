"""The rule list's shortcuts give what the database gives without them, on SigmaHQ, on both databases.

- Its size and its rules (catalog.browse.queries.rule_matches: the rule index's postings, the full-text
  index's ids) are the rules the filterset's query returns.
- Its first pages, read the cheap way (catalog.platform.paging's `narrowing`: a search scores only the rules
  its page can come from, catalog.search.top_k; a tactic's list walks the title index,
  catalog.browse.queries.first_rows), are the rows and the order of the same query read whole.
Run with DATABASE_URL=postgres://... for the PostgreSQL side.
"""

import uuid

import pytest
from django.http import QueryDict

from catalog.browse.queries import rule_index, rules
from catalog.browse.queries.rule_matches import FROM_DATABASE, SCALAR
from catalog.models import Rule
from catalog.platform.paging import KnownCountPaginator
from catalog.publishing.versioning import bump_version

FILTERS = [
    "",
    "q=powershell",
    "q=lsass",
    "q=net.exe",
    "q=...",  # nothing to look for: every rule
    "level=high&level=critical",
    "status=test&status=stable&product=windows",
    "category=process_creation&service=sysmon",
    "tactic=discovery",
    "tactic=discovery&tactic=execution",
    "technique=T1059",
    "technique=t1003.001&level=high",
    "tag=attack.t1059.001",
    "tag=ATTACK.EXECUTION&tag=detection.threat-hunting",
    "author=frack113",
    "source=sigmahq&type=rule",
    "verified=false&quality=clean&quality=low",
    "has_test_events=false&level=medium",
    "retired=true",
    "retired=false&q=mimikatz",
    "indicators=field%3DImage%26value%3Dnet.exe",
    "q=credential+dump&level=high&tactic=credential-access",
    "level=bogus&q=powershell",  # an invalid value is left out, as the database query leaves it
]
# Searches in relevance order, broad and narrow, and title-order lists filtered by a list of rule ids.
ORDERED = [
    "q=powershell",
    "q=windows",
    "q=lsass",
    "q=process+creation",
    "q=credential+dump",
    "q=mimikatz+lsass",
    "q=T1059",
    "q=T1003.001",
    "q=net.exe",
    "q=Potential+Credential+Dumping+Via+WER",
    "q=powershell&level=high&level=critical",
    "q=powershell&retired=false",
    "q=via",  # a word many titles hold: its champion list (catalog.browse.queries.broad_words)
    "q=suspicious&level=high",
    "q=execution&tactic=execution",
    "q=suspicious+powershell",  # one kept word: its titles from its list, the other's from the database
    "tactic=discovery",
    "tactic=execution&level=high",
    "technique=T1059",
    "has_test_events=false",
    "tactic=defense-evasion&sort=title",
]


def filterset(query: str):
    return rules.rule_filterset(QueryDict(query))


def database_rows(query: str) -> list[int]:
    """The list as its queryset reads it, whole: no hint (the paginator alone reads `narrowing`). Read directly:
    as a `pk IN (...)` subquery, SQLite's planner ran a full-text search once per rule (35 s for one query)."""
    return list(rules.filtered_rules(filterset(query)).values_list("pk", flat=True))


@pytest.mark.parametrize("query", FILTERS)
def test_the_rules_and_their_count_are_the_database_s(corpus, query):
    found = rules.filtered_rules(filterset(query))
    expected = set(database_rows(query))
    assert found.known_count == len(expected)
    assert set(rules.matches(found_filterset := filterset(query)).shown()) == expected
    cleaned = rules.cleaned(found_filterset)
    assert set(cleaned) - {"q", "retired", "sort"} <= set(SCALAR) | set(FROM_DATABASE) | {
        "tag",
        "tactic",
        "technique",
        "has_test_events",
    }


def first_pages(query: str, per_page: int, pages) -> list[list[int]]:
    listed = rules.filtered_rules(filterset(query))
    paginator = KnownCountPaginator(listed, per_page)
    return [[rule.pk for rule in paginator.page(n).object_list] for n in pages if n <= paginator.num_pages]


def whole_pages(query: str, per_page: int, pages) -> list[list[int]]:
    listed = rules.filtered_rules(filterset(query))
    del listed.narrowing  # the same queryset, read whole
    count = listed.count()
    return [
        [rule.pk for rule in listed[(n - 1) * per_page : n * per_page]]
        for n in pages
        if (n - 1) * per_page < count or n == 1
    ]


@pytest.mark.parametrize("query", ORDERED)
def test_first_pages_are_the_whole_order_s(corpus, query):
    listed = rules.filtered_rules(filterset(query))
    assert getattr(listed, "narrowing", None) is not None or "q=" not in query or listed.known_count <= 50
    for per_page, pages in ((50, (1, 2, 3)), (7, (1, 4)), (500, (1,))):
        assert first_pages(query, per_page, pages) == whole_pages(query, per_page, pages), (query, per_page)


def test_the_api_pages_a_broad_search_as_the_list_does(client, corpus):
    whole = whole_pages("q=powershell", 50, (1, 2))
    for page, expected in zip((1, 2), whole, strict=True):
        listed = client.get("/api/rules/", {"q": "powershell", "page": page}).json()
        assert listed["count"] == rules.filtered_rules(filterset("q=powershell")).known_count
        ids = dict(Rule.objects.values_list("uuid", "pk"))
        assert [ids[uuid.UUID(r["id"])] for r in listed["results"]] == expected


def test_ties_at_the_page_s_end_keep_the_database_s_order(corpus, tmp_path):
    """Rules alike but for their id score alike: a page's last rows tie, and the title, then the id, decide."""
    from catalog.importing.importer import import_paths

    folder = tmp_path / "alike"
    folder.mkdir()
    for n in range(30):
        (folder / f"alike_{n:02}.yml").write_text(
            f"title: {'Tie Breaker PowerShell Rule' if n % 3 else 'Another Tie Breaker PowerShell Rule'}\n"
            f"id: 00000000-0000-4000-8000-{n:012d}\nstatus: test\ndescription: powershell tie breaker\n"
            "logsource:\n    product: windows\n    category: process_creation\n"
            "detection:\n    selection:\n        CommandLine|contains: 'tie-breaker'\n    condition: selection\n"
            "level: low\n",
            encoding="utf-8",
        )
    assert not import_paths([str(folder)], source="alike").errors
    for query in ("q=tie+breaker", "q=powershell+tie", "q=powershell"):
        for per_page in (3, 7, 50):
            assert first_pages(query, per_page, (1, 2, 3)) == whole_pages(query, per_page, (1, 2, 3)), (query, per_page)


def test_a_new_catalog_version_is_read_at_once(corpus):
    rule = corpus.get(title="Potential Credential Dumping Via WER")
    before = rule_index.current()
    assert rule.pk in set(rules.matches(filterset("q=dumping")).shown())
    Rule.objects.filter(pk=rule.pk).update(hidden=True)
    bump_version()
    assert rule_index.current() is not before
    assert rule.pk not in set(rules.matches(filterset("q=dumping")).shown())
