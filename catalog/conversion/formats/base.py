"""What every bulk format shares: the writer interface, failures, and .conf-style text helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..records import ExportRecord
from ..targets import registry


@dataclass
class Failure:
    uuid: str
    title: str
    errors: list[str]

    def line(self) -> str:
        return f"{self.uuid} {self.title}: {'; '.join(self.errors)}"


class BulkFormat:
    id = ""
    label = ""
    family = ""  # the targets' family it takes
    targets: tuple[str, ...] = ()  # the targets it takes (empty: any)
    extension = ""
    content_type = "text/plain; charset=utf-8"
    default_target = ""

    def __init__(self, target: str, versions: str):
        self.target, self.versions = target, versions

    def header(self) -> str:
        return ""

    def target_label(self) -> str:
        """What the queries read, as the target's label says it (the file tells which of a family's choices)."""
        target = registry().targets.get(self.target)
        return target.label if target is not None else self.target

    def check(self, record: ExportRecord, queries: list[str]) -> str:
        """Why this format cannot carry the rule ('' when it can)."""
        return "" if len(queries) == 1 else f"converts to {len(queries)} queries; this format takes one per rule"

    def rule(self, record: ExportRecord, query: str) -> str:
        raise NotImplementedError

    def footer(self, exported: int, failures: list[Failure]) -> str:
        return ""


class PlainQueries(BulkFormat):
    """Any other target: each query under a comment naming its rule (for backends without a rule format)."""

    id = "text"
    label = "Queries, one block per rule"
    extension = "txt"

    def rule(self, record: ExportRecord, query: str) -> str:
        heading = f"{conf_line(record.title)} ({record.uuid}, level {conf_line(record.level) or 'none'})"
        return f"# {heading}: {conf_line(record.url)}\n{query}\n\n"

    def footer(self, exported: int, failures: list[Failure]) -> str:
        return comment_report(exported, failures)


def comment_report(exported: int, failures: list[Failure]) -> str:
    text = f"# {exported} rules exported, {len(failures)} could not be converted.\n"
    return text + "".join(f"# not exported: {conf_line(f.line())}\n" for f in failures)


# What some reader of a line-based file may take for the end of a line besides "\n": str.splitlines()'s
# breaks (\r, \x0b, \x0c, \x1c-\x1e, U+0085, U+2028, U+2029).
LINE_BREAKS = re.compile(r"[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Control characters (C0, DEL, C1): never meant in a one-line value.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TRAILING_CONTINUATION = re.compile(r"[\s\\]+$")


def conf_line(text: str) -> str:
    """A value on one line of a .conf file: every line break and control character becomes a space (runs of
    white space one), and no trailing backslash is left to continue the value onto the next line."""
    return TRAILING_CONTINUATION.sub("", " ".join(CONTROL.sub(" ", str(text)).split()))
