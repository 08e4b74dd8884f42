"""Champion lists for the words many rule titles hold: a one-word search for such a word, answered from arrays kept
per catalog version instead of scoring thousands of rules on every request.

A search in relevance order scores the rules whose title holds its words (catalog.search.top_k): `powershell` at
20x SigmaHQ scores the 5,620 rules with the word in their title, and checks its 12,820 matches against them, on
every search (13-23 ms on SQLite, 33 ms on PostgreSQL), where at 1x it scores 281. So for each word that at least
BROAD_TITLES titles hold, the catalog version keeps what a one-word search for it needs (an information retrieval
"champion list", here the whole list, so nothing is approximated):
- the rules whose document matches the word (the list's count and facets are over them), a packed bit per rule id;
- the rules whose title holds it, in descending order of the database's own score for the word, with the scores.
Both come from the functions a search calls (catalog.search.ranking: matching_ids, title_ids, scores), so for a
one-word query, whose relevance key is (an exact answer, the title holds the word, the score), the first rows
chosen here are the ones top_k chooses: the exact answers, then the first titled rules among the list's rules in
score order, and every rule tied with the page's last one. A list narrowed so far that fewer rules than the page
are exact or titled is left to top_k, as is every query of more than one word or of a phrase (`net.exe`); top_k
then takes a kept word's titled rules from its list (`title_ids`) instead of a full-text query (at 20x
`powershell whoami` 22.6 -> 12.8 ms in process on SQLite).

Built by the first process that needs it for a catalog version (gunicorn's master warms it with the rule index:
config/gunicorn.conf.py; at 20x SigmaHQ 173 words, 2.1 s on SQLite and 6.8 s on PostgreSQL, about 8 MB), stored
on disk (catalog.platform.version_files) and loaded by the others, its arrays read-only.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass

import numpy as np

from catalog.models.search import RuleSearch
from catalog.platform.version_files import KeptPerVersion, VersionFiles
from catalog.search import ranking
from catalog.search import text as search_text

# A word this many titles hold is kept: SigmaHQ has 4 (`via`, `suspicious`, `potential`, `execution`), its 20x
# copy 173. A word fewer titles hold costs top_k fewer scores than this per search (a few ms).
BROAD_TITLES = 500


@dataclass
class Champion:
    matches: np.ndarray  # packed bits (np.packbits), one per rule id: the rule's document matches the word
    titled: np.ndarray  # int32 ids of the rules whose title holds the word, best score first (ties: lower id)
    scores: np.ndarray  # float64: each titled rule's score, as ranking.scores gives it

    def matching(self, size: int) -> np.ndarray:
        """The match as a mask of `size` rule ids."""
        return np.unpackbits(self.matches, count=size).astype(bool)


@dataclass
class BroadWords:
    key: tuple
    words: dict[str, Champion]

    def frozen(self) -> BroadWords:
        for champion in self.words.values():
            for array in (champion.matches, champion.titled, champion.scores):
                array.flags.writeable = False
        return self


def build(key: tuple = ()) -> BroadWords:
    """Every kept word's lists, read through the search's own queries (3 per word)."""
    held = Counter()
    for title in RuleSearch.objects.values_list("title", flat=True).iterator(chunk_size=5000):
        held.update(set(title.split()))  # the normalized title: its tokens (catalog.search.text)
    words = {}
    for word in sorted(word for word, count in held.items() if count >= BROAD_TITLES):
        matched = np.fromiter(ranking.matching_ids(word) or (), dtype=np.int64)
        size = int(matched.max()) + 1 if len(matched) else 0
        bits = np.zeros(size, dtype=bool)
        bits[matched] = True
        scores = ranking.scores(word, ranking.title_ids([[word]])[0])
        ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        words[word] = Champion(
            np.packbits(bits),
            np.array([pk for pk, _ in ordered], dtype=np.int32),
            np.array([score for _, score in ordered], dtype=np.float64),
        )
    return BroadWords(key, words).frozen()


# The code that decides what is kept: this module, and the search's own queries and tokens (a change of the scores'
# weights must never read a file of the old ones).
CODE = ("catalog.browse.queries.broad_words", "catalog.search.ranking", "catalog.search.text")
FILES = VersionFiles("broad-words", CODE, ("numpy",))
KEPT = KeptPerVersion(FILES, build, loaded=lambda kept: kept.frozen() if isinstance(kept, BroadWords) else None)


def find(text: str, key: tuple | None = None) -> Champion | None:
    """The champion list of `text` in catalog version `key` (the current one when None) when `text` is one kept
    word, as the search splits it; else None, and nothing read or built for a query of more than one word."""
    phrases = search_text.query_phrases(text)
    if len(phrases) != 1 or len(phrases[0]) != 1:
        return None
    return KEPT.current(key).words.get(phrases[0][0])


def title_ids(phrases: list[list[str]], key: tuple | None = None) -> list[set[int]]:
    """ranking.title_ids(phrases), with the kept words' titled rules taken from their lists (no query for them)."""
    kept = KEPT.current(key).words
    found = {n: kept[phrase[0]] for n, phrase in enumerate(phrases) if len(phrase) == 1 and phrase[0] in kept}
    others = iter(ranking.title_ids([phrase for n, phrase in enumerate(phrases) if n not in found]))
    return [set(found[n].titled.tolist()) if n in found else next(others) for n in range(len(phrases))]


def first_rows(champion: Champion, text: str, shown: list[int], top: int):
    """What top_k.first_rows(text, shown, top) gives for a kept word: None when `top` covers the list, else the ids
    of its first `top` rows and every rule tied with the last; NotImplemented when the list's exact and titled
    rules are fewer than `top` (then every match is a candidate: top_k scores them)."""
    if top >= len(shown):
        return None
    within = np.zeros(max(shown) + 1, dtype=bool)
    within[shown] = True
    inside = champion.titled < len(within)
    inside[inside] = within[champion.titled[inside]]
    titled, scores = champion.titled[inside], champion.scores[inside]  # the list's titled rules, best first
    is_titled = np.zeros(len(within), dtype=bool)
    is_titled[titled] = True
    exact = {pk for pk in ranking.exact_ids(text) if pk < len(within) and within[pk]}  # no set of every shown id
    untitled_exact = {pk for pk in exact if not is_titled[pk]}
    if len(titled) + len(untitled_exact) < top:
        return NotImplemented
    # Keyed as top_k keys its candidates: (an exact answer, title words held, score). Every rule that can be among
    # the first `top` is here: the exact answers, and the first `top` titled rules (any other scores lower).
    head = zip(titled[:top].tolist(), scores[:top].tolist(), strict=True)
    keys = {pk: (pk in exact, 1, score) for pk, score in head}
    for pk in exact - set(keys) - untitled_exact:  # titled, further down
        keys[pk] = (True, 1, float(scores[np.flatnonzero(titled == pk)[0]]))
    untitled_scores = ranking.scores(text, untitled_exact) if untitled_exact else {}
    for pk in untitled_exact:
        keys[pk] = (True, 0, untitled_scores.get(pk, 0.0))
    last = heapq.nlargest(top, keys.values())[-1]
    chosen = {pk for pk, key in keys.items() if key >= last}
    if not last[0]:  # the titled rules tied with the last one, beyond the first `top`
        chosen.update(titled[scores >= last[2]].tolist())
    return chosen
