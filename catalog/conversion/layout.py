"""A converted query laid out on lines for reading: display only, never a different query.

pySigma gives one line (Splunk, Lucene, EQL, ES|QL) or a few (KQL: the table, then `| where`); on a
phone the browser wrapped it anywhere, "Co mmandLine" included. Here the query is cut into lines
only *between* tokens, so that joining the lines gives the query back byte for byte: the page shows
each line as a block (its depth as indentation, in CSS) and the copy button, the API and the exports
still hand out pySigma's own text. Where a line breaks:

- before a boolean operator (`and`, `or`, any case) or a pipe `|`, at the level of the parentheses it
  is written at, when the group it is in is too long for one line;
- a group too long for its line opens on it, its contents go one level deeper, and it closes on a
  line of its own, like a formatter would do it;
- what is still too long (a long value list, Splunk's implicit AND between terms) is filled up to the
  width, broken only at whitespace outside quoted strings; so is a list of single values joined by
  operators (Lucene's `field:(a OR b OR c)`), rather than one value a line;
- the query's own newlines stay where they are.

A word longer than the width stays whole: the page scrolls it sideways (white-space: pre).
Quoted strings are `"..."` with backslash escapes (every default backend writes them so); a
backslash outside quotes escapes the next character (Lucene's `\\ `), so an escaped space is no break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WIDTH = 80  # characters a line may take before it is broken, its indentation included
INDENT = 2  # characters a level of depth indents (the CSS class q-dN indents N * 2ch)
MAX_DEPTH = 12  # deeper levels are shown at this depth (the CSS defines q-d0 .. q-d12)
OPERATORS = {"and", "or", "|"}
OPENERS = {"(": ")", "[": "]"}
CONDITION = re.compile(r"(?<!\\)[:=]")  # Lucene's field:value, Splunk's field=value: a condition, not a value


@dataclass(frozen=True)
class Line:
    depth: int
    text: str

    @property
    def indent_class(self) -> str:
        return f"q-d{min(self.depth, MAX_DEPTH)}"


@dataclass
class _Token:
    kind: str  # word, string, space, newline, close (an unmatched closer is a word)
    text: str


@dataclass
class _Group:
    opener: str
    items: list = field(default_factory=list)
    closer: str = ""  # '' when the query ends before the group closes

    @property
    def text(self) -> str:
        return self.opener + "".join(item.text for item in self.items) + self.closer


def query_lines(query: str, width: int = WIDTH) -> list[Line]:
    """The query as lines whose texts, joined, are exactly `query`."""
    if not query:
        return [Line(0, query)]
    lines: list[Line] = []
    _layout(_parse(_tokens(query)), 0, width, lines)
    return [line for line in lines if line.text] or [Line(0, query)]


def _tokens(query: str) -> list[_Token]:
    tokens, i, n = [], 0, len(query)
    while i < n:
        char = query[i]
        if char == "\n":
            tokens.append(_Token("newline", char))
            i += 1
        elif char.isspace():
            j = i
            while j < n and query[j].isspace() and query[j] != "\n":
                j += 1
            tokens.append(_Token("space", query[i:j]))
            i = j
        elif char == '"':
            j = i + 1
            while j < n and query[j] != '"':
                j += 2 if query[j] == "\\" else 1
            tokens.append(_Token("string", query[i : j + 1]))
            i = j + 1
        elif char in OPENERS or char in OPENERS.values():
            tokens.append(_Token("open" if char in OPENERS else "close", char))
            i += 1
        else:
            j = i
            while j < n and not (query[j].isspace() or query[j] == '"' or query[j] in "()[]"):
                j += 2 if query[j] == "\\" else 1
            tokens.append(_Token("word", query[i:j]))
            i = j
    return tokens


def _parse(tokens: list[_Token]) -> list:
    """Tokens nested by their brackets; a closer that closes nothing is kept as a word."""
    root: list = []
    stack: list[_Group] = []
    for token in tokens:
        items = stack[-1].items if stack else root
        if token.kind == "open":
            group = _Group(token.text)
            items.append(group)
            stack.append(group)
        elif token.kind == "close" and stack and OPENERS[stack[-1].opener] == token.text:
            stack.pop().closer = token.text
        else:
            items.append(token if token.kind != "close" else _Token("word", token.text))
    return root


def _text(items) -> str:
    return "".join(item.text for item in items)


def _fits(text: str, depth: int, width: int) -> bool:
    return "\n" not in text.rstrip("\n") and depth * INDENT + len(text.rstrip()) <= width


def _is_operator(item) -> bool:
    return isinstance(item, _Token) and item.kind == "word" and item.text.casefold() in OPERATORS


def _clauses(items: list) -> list[list]:
    """Cut before each operator (the space before it ends the clause before) and after each newline."""
    clauses, current = [], []
    for index, item in enumerate(items):
        after_space = index > 0 and isinstance(items[index - 1], _Token) and items[index - 1].kind == "space"
        if _is_operator(item) and after_space and any(not _blank(i) for i in current):
            clauses.append(current)
            current = []
        current.append(item)
        if isinstance(item, _Token) and item.kind == "newline":
            clauses.append(current)
            current = []
    if current:
        clauses.append(current)
    return clauses


def _blank(item) -> bool:
    return isinstance(item, _Token) and item.kind in ("space", "newline")


def _only_operators(text: str) -> bool:
    """A line would hold nothing but `AND` or `NOT`: it stays with what follows."""
    return all(word.casefold() in OPERATORS or word.casefold() == "not" for word in text.split())


def _trailing_not(text: str) -> tuple[str, str]:
    """(text before a final `NOT `, the `NOT ` and its space), or (text, '')."""
    stripped = text.rstrip()
    if stripped[-3:].casefold() == "not" and (len(stripped) == 3 or not stripped[-4].isalnum()):
        return text[: len(stripped) - 3], text[len(stripped) - 3 :]
    return text, ""


def _layout(items: list, depth: int, width: int, lines: list[Line]) -> None:
    if _fits(_text(items), depth, width):
        lines.append(Line(depth, _text(items)))
        return
    clauses = _clauses(items)
    if all(_atom(clause) for clause in clauses):  # a list of values joined by one operator: filled
        _clause(items, depth, width, lines)
        return
    for clause in clauses:
        _clause(clause, depth, width, lines)


def _atom(clause: list) -> bool:
    """A value of one token (and its operator): `OR *\\cmd.exe` in Lucene's value lists, not a
    condition `OR field:value` (an unescaped `:` or `=` in it)."""
    solid = [item for item in clause if not _blank(item)]
    return len(solid) <= 2 and all(isinstance(item, _Token) and not CONDITION.search(item.text) for item in solid)


def _clause(items: list, depth: int, width: int, lines: list[Line]) -> None:
    """One clause on as few lines as fit: long groups opened, the rest filled at whitespace."""
    current = ""
    for item in items:
        text = item.text
        if _fits(current + text, depth, width) or _blank(item):
            current += text
        elif isinstance(item, _Group) and (
            not _fits(text, depth, width) or not current[-1:].isspace() or _only_operators(current)
        ):
            lines.append(Line(depth, current + item.opener))
            _layout(item.items, depth + 1, width, lines)
            current = item.closer
        elif current and current[-1].isspace() and not _only_operators(current):  # a break between two tokens
            head, negation = _trailing_not(current)  # `NOT` goes to the next line with what it negates
            if head.strip():
                lines.append(Line(depth, head))
                current = negation + text
            else:
                current += text
        else:  # glued to what precedes it (no space between): the line stays long
            current += text
        if current.endswith("\n"):
            lines.append(Line(depth, current))
            current = ""
    if current:
        lines.append(Line(depth, current))
