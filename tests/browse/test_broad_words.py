"""A one-word search for a word many titles hold is answered from the catalog version's champion lists
(catalog.browse.queries.broad_words): the same match, and the same first rows, as the database's search gives.
Run with DATABASE_URL=postgres://... for the PostgreSQL side.
"""

import functools
from urllib.parse import urlencode

import numpy as np
import pytest
from django.http import QueryDict

from catalog.browse.queries import broad_words, rule_index, rules
from catalog.browse.queries.rule_matches import Matches
from catalog.search import ranking, top_k
from catalog.search import text as search_text

WORDS = ["powershell", "via", "suspicious", "process", "file", "windows", "exe"]


@pytest.fixture
def fewer_titles(monkeypatch):
    """Words in 60 titles or more are kept: SigmaHQ then has dozens of them, `powershell` among them."""
    monkeypatch.setattr(broad_words, "BROAD_TITLES", 60)
    broad_words.KEPT.forget()
    yield
    broad_words.KEPT.forget()


def test_the_stock_threshold_keeps_sigmahq_s_most_common_title_words(corpus):
    broad_words.KEPT.forget()
    kept = broad_words.KEPT.current()
    assert {"via", "suspicious"} <= set(kept.words) and "powershell" not in kept.words
    assert broad_words.find("Suspicious") is kept.words["suspicious"]
    assert broad_words.find("via suspicious") is None and broad_words.find("net.exe") is None


@pytest.mark.parametrize("word", WORDS)
def test_the_kept_lists_are_the_search_s_own(corpus, fewer_titles, word):
    champion = broad_words.find(word)
    assert champion is not None, word
    index = rule_index.current()
    size = len(index.state)
    expected = np.zeros(size, dtype=bool)
    expected[[pk for pk in ranking.matching_ids(word) if pk < size]] = True
    assert np.array_equal(champion.matching(size), expected)
    scores = ranking.scores(word, ranking.title_ids([[word]])[0])
    assert sorted(champion.titled.tolist()) == sorted(scores)
    assert champion.scores.tolist() == [scores[pk] for pk in champion.titled.tolist()]
    assert list(champion.scores) == sorted(champion.scores, reverse=True)
    with pytest.raises(ValueError, match="read-only"):
        champion.scores[0] = 0.0


def shown_lists(word: str) -> dict[str, list[int]]:
    """The rules of the word's list, unfiltered and narrowed by a facet (as the rule list gives them)."""
    return {
        query: rules.matches(rules.rule_filterset(QueryDict(query))).shown()
        for query in (f"q={word}", f"q={word}&level=high", f"q={word}&product=windows&status=test")
    }


@pytest.mark.parametrize("word", WORDS)
def test_the_first_rows_are_top_k_s(corpus, fewer_titles, word):
    champion = broad_words.find(word)
    taken = 0
    for query, shown in shown_lists(word).items():
        for top in (1, 7, 50, 200, len(shown) - 1, len(shown)):
            chosen = broad_words.first_rows(champion, word, shown, top)
            if chosen is NotImplemented:  # fewer exact and titled rules than the page: top_k ranks every match
                assert len(ranking.title_ids([[word]])[0] & set(shown)) < top, (query, top)
                continue
            taken += 1
            assert chosen == top_k.first_rows(word, shown, top), (query, top)
    assert taken >= 6


def test_exact_answers_come_first_as_top_k_puts_them(corpus, fewer_titles):
    """Two rules named `powershell` are exact answers: one whose title holds the word far down the champion list,
    one whose title does not hold it at all (its document does)."""
    from catalog.models import Rule

    champion = broad_words.find("powershell")
    titled_last = champion.titled.tolist()[-1]
    untitled = next(pk for pk in sorted(ranking.matching_ids("powershell")) if pk not in set(champion.titled.tolist()))
    Rule.objects.filter(pk__in=[titled_last, untitled]).update(name="powershell")
    shown = rules.matches(rules.rule_filterset(QueryDict("q=powershell"))).shown()
    assert {titled_last, untitled} <= set(shown) and ranking.exact_ids("powershell") >= {titled_last, untitled}
    for top in (1, 2, 3, 50):
        chosen = broad_words.first_rows(champion, "powershell", shown, top)
        assert chosen == top_k.first_rows("powershell", shown, top), top
        assert {titled_last, untitled} <= chosen or top == 1


@pytest.mark.parametrize("query", ["q=powershell", "q=via&level=high", "q=windows&tactic=execution"])
def test_counts_and_facets_match_the_database_s(corpus, fewer_titles, query):
    data = rules.cleaned(rules.rule_filterset(QueryDict(query)))
    index = rule_index.current()
    kept = Matches(data, index).shown()
    assert broad_words.find(data["q"]) is not None
    broad_words.KEPT.forget()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(broad_words, "BROAD_TITLES", 10**9)  # nothing kept: the full-text index answers
        assert broad_words.find(data["q"]) is None
        assert Matches(data, index).shown() == kept
    broad_words.KEPT.forget()


def test_a_multi_word_query_is_not_a_champion(corpus, fewer_titles):
    assert search_text.query_phrases("powershell download") == [["powershell"], ["download"]]
    assert broad_words.find("powershell download") is None


def test_stored_per_version_and_loaded_read_only(corpus, fewer_titles, settings, tmp_path):
    settings.CATALOG_MATCH_COMPILED_DIR = str(tmp_path / "kept")
    built = broad_words.KEPT.current()
    assert len(list((tmp_path / "kept").glob("broad-words-*.pickle"))) == 1
    broad_words.KEPT.forget()  # another process: loads the file
    loaded = broad_words.KEPT.current()
    assert loaded is not built and loaded.key == built.key and set(loaded.words) == set(built.words)
    for word, champion in loaded.words.items():
        assert champion.titled.tolist() == built.words[word].titled.tolist()
        assert champion.matches.tobytes() == built.words[word].matches.tobytes()
        with pytest.raises(ValueError, match="read-only"):
            champion.titled[0] = 0


@pytest.mark.parametrize("query", ["powershell whoami", "suspicious powershell", "via file", "net.exe process", "exe"])
def test_a_longer_query_takes_its_kept_words_titles_from_their_lists(corpus, fewer_titles, query):
    phrases = search_text.query_phrases(query)
    assert broad_words.title_ids(phrases) == ranking.title_ids(phrases)
    shown = rules.matches(rules.rule_filterset(QueryDict(urlencode({"q": query})))).shown()
    for top in (1, 7, 50):
        titles = functools.partial(broad_words.title_ids, key=None)
        assert top_k.first_rows(query, shown, top, titles) == top_k.first_rows(query, shown, top), top
