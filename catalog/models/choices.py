"""The fixed vocabularies: Sigma levels, statuses and rule types, and an indicator's polarity."""

from django.db import models


class Level(models.TextChoices):
    """Sigma's levels, least to most severe (the order sorting by level follows)."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(models.TextChoices):
    STABLE = "stable"
    TEST = "test"
    EXPERIMENTAL = "experimental"
    DEPRECATED = "deprecated"
    UNSUPPORTED = "unsupported"


class RuleType(models.TextChoices):
    RULE = "rule"
    CORRELATION = "correlation"
    FILTER = "filter"


# Plain lists of the values, for code that only needs the names.
LEVELS = list(Level.values)
STATUSES = list(Status.values)
RULE_TYPES = list(RuleType.values)


class Polarity(models.TextChoices):
    """Whether a rule looks for a value or excludes it: the parity of `not`s above its block in the condition."""

    LOOKS_FOR = "looks_for", "looks for"
    EXCLUDES = "excludes", "excludes"
    BOTH = "both", "both"
