"""Multi-word searches rank rules whose title holds every word first (issue 21, rough edge 2).

For `lsass procdump`, "Potential LSASS Process Dump Via Procdump" used to come third, after rules about
ProcDump alone. The order checked here is read off the titles independently of the search code: a word
is in a title when one of its tokens has the same stem, a crude one cutting a few English endings ("dump"
is in "Dumping", "scheduled" in "Schedule", "dump" is not in "Dumper"). Run with
DATABASE_URL=postgres://... for the PostgreSQL side (tsvector), else SQLite (FTS5).
"""

import pytest

from catalog.search.text import tokens
from tests.search.test_search_ranking import searched

ENDINGS = ("ing", "ed", "es", "s", "e")

# Realistic queries, each with a rule whose title holds every word (checked below).
QUERIES = {
    "lsass procdump": "Potential LSASS Process Dump Via Procdump",
    "powershell download": None,
    "credential dump": None,
    "scheduled task creation": None,
    "rundll32 comsvcs": None,
    "lsass memory dump": None,
    "uac bypass": None,
    "wmi persistence": None,
    "remote thread lsass": None,
}


def stem(word: str) -> str:
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def words_in_title(title: str, words: list[str]) -> int:
    held = {stem(token) for token in tokens(title)}
    return sum(stem(word) in held for word in words)


@pytest.mark.parametrize("query", list(QUERIES))
def test_titles_holding_every_word_come_first(corpus, query):
    words = tokens(query)
    found = searched(query)
    tiers = [words_in_title(rule.title, words) for rule in found if not rule.search_exact]
    assert tiers and tiers[0] == len(words), (query, [rule.title for rule in found[:5]])
    assert tiers == sorted(tiers, reverse=True), (query, list(zip(tiers, [rule.title for rule in found], strict=False)))
    if QUERIES[query]:
        assert found[0].title == QUERIES[query]


def test_a_rule_naming_one_word_many_times_does_not_beat_one_naming_both(corpus):
    # The ProcDump rules repeat "procdump" in their values; the rule about LSASS dumps via ProcDump names both.
    titles = [rule.title for rule in searched("procdump lsass")]
    assert titles[0] == "Potential LSASS Process Dump Via Procdump"
    assert titles.index("Procdump Execution") > 0
