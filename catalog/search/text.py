"""Tokens shared by both databases: produced here in Python, so PostgreSQL and SQLite split text alike.

Every run of characters that is not a letter or a digit separates tokens (path and command-line
punctuation `\\ . - / _ :` included), and the document stores the tokens joined by spaces. So
`C:\\Windows\\System32\\net.exe` is stored as `c windows system32 net exe`: the query `net.exe`
(the phrase `net exe`) finds it, `\\net.exe` is the same phrase, and `dotnet.exe` (`dotnet exe`)
is a different token sequence altogether. Each database then only stems single words (PostgreSQL's
`english` configuration, FTS5's `porter` tokenizer), so `dump` also finds `dumping`.
"""

from __future__ import annotations

import re

SEPARATORS = re.compile(r"[\W_]+")
TECHNIQUE_ID = re.compile(r"^t\d{4}(\.\d{3})?$", re.IGNORECASE)
MAX_QUERY_WORDS = 12  # a longer query is cut: each word is a phrase the index must intersect


def tokens(text: str) -> list[str]:
    """The lower-case letter/digit runs of `text`."""
    return [token for token in SEPARATORS.split((text or "").casefold()) if token]


def normalized(*parts: str) -> str:
    """One document column: the tokens of every part, space separated (NUL-free for PostgreSQL)."""
    return " ".join(token for part in parts for token in tokens(part))


def query_phrases(text: str) -> list[list[str]]:
    """The query as phrases: one per whitespace-separated word, each the word's tokens in order.

    Every phrase must match (AND); inside a phrase the tokens must be adjacent, which is what
    keeps `net.exe` from matching `dotnet.exe` or `net` and `exe` far apart.
    """
    phrases = [tokens(word) for word in (text or "").split()[:MAX_QUERY_WORDS]]
    return [phrase for phrase in phrases if phrase]


def fts5_query(phrases: list[list[str]]) -> str:
    """An FTS5 MATCH expression: quoted phrases joined by AND (tokens are letters/digits only)."""
    return " AND ".join('"' + " ".join(phrase) + '"' for phrase in phrases)


def tsquery(phrases: list[list[str]], weight: str = "") -> str:
    """A to_tsquery expression: phrases with `<->` between tokens, joined by `&`; with `weight` ("B"), each
    token matches only lexemes of that weight (the title's: catalog.search.index)."""
    label = f":{weight}" if weight else ""
    return " & ".join("(" + " <-> ".join(token + label for token in phrase) + ")" for phrase in phrases)


def is_technique_id(text: str) -> bool:
    return bool(TECHNIQUE_ID.match((text or "").strip()))
