"""What an import tells its caller: counts, problems (each naming a file and line) and the changed ids."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.core.sigma.problems import ERROR, WARNING, Problem


@dataclass
class ImportReport:
    files_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    not_matchable: int = 0  # imported rules that event matching cannot compile (each also a warning)
    problems: list[Problem] = field(default_factory=list)
    run_id: int | None = None
    rolled_back: bool = False
    changes: dict = field(default_factory=lambda: {"created": [], "updated": [], "retired": []})

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def error(self, path: str, line: int, message: str) -> None:
        self.problems.append(Problem(path, line, message))

    def warning(self, path: str, line: int, message: str) -> None:
        self.problems.append(Problem(path, line, message, WARNING))

    def summary(self) -> str:
        return (
            f"{self.files_read} files read; rules: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.retired} retired; "
            f"{len(self.warnings)} warnings, {len(self.errors)} errors"
            + (f"; {self.not_matchable} rules cannot be matched against events" if self.not_matchable else "")
            + ("; ROLLED BACK, the catalog is unchanged" if self.rolled_back else "")
        )


class ImportFailed(Exception):
    """Raised inside the transaction to roll it back (e.g. --strict with errors)."""

    def __init__(self, report: ImportReport):
        super().__init__("import rolled back")
        self.report = report
