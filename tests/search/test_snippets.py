"""Search snippets (catalog.search.snippets): the query's words marked in the rule's description as written. Run with
DATABASE_URL=postgres://... for the PostgreSQL side, where the SQL is checked against Django's own SearchHeadline."""

import pytest
from django.db import connection

from catalog.models.search import RuleSearch
from catalog.search import ranking, snippets
from catalog.search import text as search_text

QUERIES = ["powershell", "lsass dump", "net.exe", "scheduled task", "mimikatz"]


@pytest.mark.parametrize("query", QUERIES)
def test_each_snippet_marks_the_query_in_the_description(corpus, query):
    ids = sorted(ranking.matching_ids(query))[:60]
    found = snippets.snippets(ids, query)
    summaries = dict(RuleSearch.objects.filter(rule_id__in=ids).values_list("rule_id", "summary"))
    assert found and set(found) <= {pk for pk in ids if summaries[pk]}
    for pk, snippet in found.items():
        plain = snippet.replace(snippets.START, "").replace(snippets.STOP, "").strip(snippets.ELLIPSIS + " ")
        assert plain[:30] in summaries[pk], (pk, snippet)
        assert snippet.count(snippets.START) == snippet.count(snippets.STOP)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ts_headline: PostgreSQL's snippets")
@pytest.mark.parametrize("query", QUERIES)
def test_postgresql_snippets_are_django_s_search_headline(corpus, query):
    from django.contrib.postgres.search import SearchHeadline, SearchQuery

    phrases = search_text.query_phrases(query)
    ids = sorted(ranking.matching_ids(query))[:100]
    headline = SearchHeadline(
        "summary",
        SearchQuery(search_text.tsquery(phrases), search_type="raw", config="english"),
        config="english",
        start_sel=snippets.START,
        stop_sel=snippets.STOP,
        max_words=snippets.SNIPPET_TOKENS,
        min_words=snippets.SNIPPET_TOKENS // 2,
        short_word=2,
    )
    rows = RuleSearch.objects.filter(rule_id__in=ids).exclude(summary="").annotate(snippet=headline)
    expected = {
        pk: snippets._cut(snippet, summary)
        for pk, snippet, summary in rows.values_list("rule_id", "snippet", "summary")
    }
    assert expected and snippets.snippets(ids, query) == expected
