"""A rule's history: what each import changed, as readable diffs of its YAML and its indicators.

The importer keeps the previous content of a rule (RuleVersion) whenever it changes it. Each
version is "the rule before run N", so the change made by run N is the diff from that version to
the next newer one (or to the current rule for the newest). `rule_history` builds the context of
templates/changes/_history.html in two queries, however long the history.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from catalog.models import Rule, RuleIndicator, RuleVersion

HISTORY_LIMIT = 20  # newest changes shown; older ones are counted
DIFF_CONTEXT = 3


@dataclass(frozen=True)
class DiffLine:
    css: str  # diff-header, diff-hunk, diff-added, diff-removed, diff-context
    text: str


@dataclass(frozen=True)
class IndicatorRow:
    field: str
    kind: str
    value: str

    @classmethod
    def parse(cls, text: str) -> IndicatorRow:
        # "field|kind|value": field names and kinds hold no '|', values may.
        parts = text.split("|", 2)
        parts += [""] * (3 - len(parts))
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.field or '(keyword)'} {self.kind} {self.value}"


@dataclass
class Change:
    """What one import changed in the rule."""

    version: RuleVersion
    run: object  # the ImportRun, or None if it was deleted
    recorded_at: object
    title_before: str
    title_after: str
    diff: list[DiffLine]
    indicators_added: list[IndicatorRow] = field(default_factory=list)
    indicators_removed: list[IndicatorRow] = field(default_factory=list)

    @property
    def title_changed(self) -> bool:
        return self.title_before != self.title_after

    @property
    def yaml_changed(self) -> bool:
        return bool(self.diff)


def yaml_diff(before: str, after: str, context: int = DIFF_CONTEXT) -> list[DiffLine]:
    """A unified diff as lines tagged with their CSS class (the template escapes the text)."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), fromfile="before", tofile="after", lineterm="", n=context
    )
    result = []
    for line in lines:
        if line.startswith(("--- ", "+++ ")):
            css = "diff-header"
        elif line.startswith("@@"):
            css = "diff-hunk"
        elif line.startswith("+"):
            css = "diff-added"
        elif line.startswith("-"):
            css = "diff-removed"
        else:
            css = "diff-context"
        result.append(DiffLine(css, line))
    return result


def indicator_diff(before: list[str], after: list[str]) -> tuple[list[IndicatorRow], list[IndicatorRow]]:
    """(added, removed) between two indicator lists, each in the order the rule writes them."""
    before_set, after_set = set(before), set(after)
    added = [IndicatorRow.parse(i) for i in dict.fromkeys(after) if i not in before_set]
    removed = [IndicatorRow.parse(i) for i in dict.fromkeys(before) if i not in after_set]
    return added, removed


def current_indicators(rule: Rule) -> list[str]:
    """The rule's indicators now, in the stored "field|kind|value" form of RuleVersion.indicators."""
    rows = (
        RuleIndicator.objects.filter(rule=rule)
        .order_by("position")
        .values_list("indicator__field", "indicator__kind", "written")
    )
    return [f"{fld}|{kind}|{written}" for fld, kind, written in rows]


def rule_history(rule: Rule, limit: int = HISTORY_LIMIT) -> dict:
    """Context for templates/changes/_history.html: newest change first, in two queries.

    Keys: history_rule, history (list of Change), history_more (older changes not shown),
    history_first_imported (when the rule first came into the catalog).
    """
    versions = list(
        RuleVersion.objects.filter(rule=rule).select_related("import_run").order_by("-recorded_at", "-pk")[: limit + 1]
    )
    more = 0
    if len(versions) > limit:
        versions = versions[:limit]
        more = RuleVersion.objects.filter(rule=rule).count() - limit if limit else 0
    changes = []
    if versions:
        newer_title, newer_yaml, newer_indicators = rule.title, rule.yaml_text, current_indicators(rule)
        for version in versions:  # newest first: each is compared with the content that replaced it
            added, removed = indicator_diff(version.indicators, newer_indicators)
            changes.append(
                Change(
                    version=version,
                    run=version.import_run,
                    recorded_at=version.import_run.started_at if version.import_run else version.recorded_at,
                    title_before=version.title,
                    title_after=newer_title,
                    diff=yaml_diff(version.yaml_text, newer_yaml),
                    indicators_added=added,
                    indicators_removed=removed,
                )
            )
            newer_title, newer_yaml, newer_indicators = version.title, version.yaml_text, version.indicators
    return {
        "history_rule": rule,
        "history": changes,
        "history_more": more,
        "history_first_imported": rule.created_at,
    }
