"""Problems found while reading rules, each pointing at a file and a line, on one line of text."""

import re
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"

_WHITESPACE_RUN = re.compile(r"\s*\n\s*")


def one_line(message: str) -> str:
    """A message as one line: reports are read as `path:line: message`, one problem a line."""
    return _WHITESPACE_RUN.sub(" ", str(message)).strip()


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    severity: str = ERROR

    def __post_init__(self):
        object.__setattr__(self, "message", one_line(self.message))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "message": self.message, "severity": self.severity}


class RuleFileError(Exception):
    """A file (or one document of it) that cannot be imported at all."""

    def __init__(self, message: str, line: int = 1):
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.line = line


def error_message(error: Exception) -> str:
    """An exception's own message, without the location pySigma appends to `str(error)`.

    pySigma keeps the location apart, in `error.source` (see `source_line`); `Exception.__str__`
    gives the message it was raised with, which is what `SigmaError.__str__` starts from.
    """
    return one_line(Exception.__str__(error)) or type(error).__name__


def source_line(error: Exception) -> int | None:
    """The line pySigma recorded for an error (its `source`, a SigmaRuleLocation), if any."""
    source = getattr(error, "source", None)
    line = getattr(source, "line", None)
    return line if isinstance(line, int) and line > 0 else None
