"""Persistence only: the catalog's tables. Parsing lives in catalog.core/sigma, writing in catalog.importing.

One module per group of tables; everything is importable from `catalog.models`, as Django expects.
"""

# Every table of the app is defined here, including those of the feature packages (import jobs, match
# jobs, search documents, telemetry needs): the features import their tables from catalog.models and
# catalog.models imports no feature (docs/design.md, "Layers and contracts").
from catalog.models.choices import LEVELS, RULE_TYPES, STATUSES, Level, Polarity, RuleType, Status
from catalog.models.detection import Indicator, Predicate, RuleIndicator, RuleReference, RuleVersion, Stage
from catalog.models.jobs import ImportJob
from catalog.models.matching_jobs import MatchJob, RuleTestEvent
from catalog.models.reference import EventType, Tactic, Technique
from catalog.models.rules import (
    CURATION_FIELDS,
    Rule,
    RuleQuerySet,
    effective_tags,
    live_rules_q,
    public_rules_q,
    tag_text,
)
from catalog.models.search import RuleSearch
from catalog.models.sources import EXAMPLES_SOURCE, CatalogVersion, ImportRun, Source
from catalog.models.summaries import CountSummary, FieldSummary, LogsourceSummary
from catalog.models.telemetry import NeedSignature, RuleNeed, TelemetryProfile

__all__ = [
    "CURATION_FIELDS",
    "EXAMPLES_SOURCE",
    "LEVELS",
    "MatchJob",
    "RuleTestEvent",
    "NeedSignature",
    "RuleNeed",
    "TelemetryProfile",
    "RULE_TYPES",
    "STATUSES",
    "CatalogVersion",
    "CountSummary",
    "EventType",
    "ImportJob",
    "ImportRun",
    "FieldSummary",
    "Indicator",
    "Level",
    "LogsourceSummary",
    "Polarity",
    "Predicate",
    "Rule",
    "RuleIndicator",
    "RuleQuerySet",
    "RuleReference",
    "RuleSearch",
    "RuleType",
    "RuleVersion",
    "Source",
    "Stage",
    "Status",
    "Tactic",
    "Technique",
    "effective_tags",
    "live_rules_q",
    "public_rules_q",
    "tag_text",
]
