"""Problems found while reading rules, each pointing at a file and a line."""

import re
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "message": self.message, "severity": self.severity}


class RuleFileError(Exception):
    """A file (or one document of it) that cannot be imported at all."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line


def error_message(error: Exception) -> str:
    """pySigma's message without its own location suffix (we name the file and line ourselves)."""
    return re.sub(r"\s*\(in .*?\)$", "", str(error)) or type(error).__name__
