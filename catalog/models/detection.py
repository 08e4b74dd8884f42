"""What a rule is made of: stages, predicates, the indicators it carries, references, versions."""

from django.db import models

from catalog.models.choices import Polarity
from catalog.models.rules import Rule
from catalog.models.sources import ImportRun


class Stage(models.Model):
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="stages")
    index = models.PositiveSmallIntegerField()  # 0 = the condition
    name = models.CharField(max_length=200)
    text = models.TextField()
    combine = models.CharField(max_length=8, default="and")  # how the block's items combine

    class Meta:
        ordering = ["rule", "index"]
        constraints = [models.UniqueConstraint(fields=["rule", "index"], name="unique_stage_index")]

    def __str__(self):
        return f"Stage {self.index}: {self.name}"


class Indicator(models.Model):
    """A normalized (field, kind, value, transforms, cased) that rules look for or exclude."""

    field = models.CharField(max_length=200, db_index=True)  # '' for keywords
    kind = models.CharField(max_length=32, db_index=True)
    value = models.TextField()  # comparison form: casefolded unless cased / regex
    transforms = models.CharField(max_length=200, blank=True)
    cased = models.BooleanField(default=False)
    display = models.TextField()  # as first written, without outer wildcards
    key = models.CharField(max_length=64, unique=True)  # sha256 of the identity, for lookups
    corpus_count = models.PositiveIntegerField(default=0, db_index=True)  # live public rules looking for it
    exclude_count = models.PositiveIntegerField(default=0, db_index=True)  # live public rules excluding it

    class Meta:
        ordering = ["-corpus_count", "field", "value"]
        # The indicator list's order (catalog.browse.queries.indicators.ORDER): its first pages read from an index.
        indexes = [
            models.Index(
                models.F("corpus_count").desc(),
                models.F("exclude_count").desc(),
                "field",
                "kind",
                name="indicator_order",
            ),
            # One field's indicators in the same order (a field's page): walked to the page's end, where the field's
            # index alone made SQLite sort them all (86,000 CommandLine indicators at 20x SigmaHQ: 25 ms).
            models.Index(
                "field",
                models.F("corpus_count").desc(),
                models.F("exclude_count").desc(),
                name="indicator_field_order",
            ),
        ]

    def __str__(self):
        return f"{self.field or '(keyword)'} {self.kind} {self.display}"

    @property
    def polarity(self) -> str:
        """How live rules use it overall: looked for, excluded, or both (by different rules or blocks)."""
        if self.exclude_count and self.corpus_count:
            return Polarity.BOTH
        return Polarity.EXCLUDES if self.exclude_count else Polarity.LOOKS_FOR


class Predicate(models.Model):
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="predicates")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="predicates")
    position = models.PositiveSmallIntegerField()
    group = models.PositiveSmallIntegerField(default=0)  # map index in a list-of-maps block
    field = models.CharField(max_length=200, blank=True)
    modifiers = models.JSONField(default=list)
    values = models.JSONField(default=list)  # as Sigma means them (escapes kept, null as None)
    combine = models.CharField(max_length=8, default="any")  # 'any' or 'all'
    polarity = models.CharField(max_length=10, choices=Polarity.choices, default=Polarity.LOOKS_FOR)

    class Meta:
        ordering = ["stage", "position"]

    def __str__(self):
        return "|".join([self.field or "(keywords)", *self.modifiers])


class RuleIndicator(models.Model):
    """A rule carries an indicator; `written` is the value as this rule writes it."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="rule_indicators")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="rule_indicators")
    written = models.TextField()
    position = models.PositiveIntegerField(default=0)
    # Not indexed: three values, and SQLite would pick such an index over rule_id / indicator_id (much slower).
    polarity = models.CharField(max_length=10, choices=Polarity.choices, default=Polarity.LOOKS_FOR)

    class Meta:
        ordering = ["rule", "position"]
        constraints = [models.UniqueConstraint(fields=["rule", "indicator"], name="unique_rule_indicator")]

    def __str__(self):
        return f"{self.rule_id} carries {self.written}"


class RuleReference(models.Model):
    """A rule pointing at another by id or name: correlation bases, filter targets, `related:` entries.

    Targets are kept as written and resolved when read, so a reference to a rule that is imported
    later (or from another source) still connects.
    """

    CORRELATES = "correlation"
    FILTERS = "filter"
    RELATED = "related"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="references_out")
    kind = models.CharField(max_length=16)
    relation = models.CharField(max_length=32, blank=True)  # `related:` type (derived, obsolete, ...)
    target = models.CharField(max_length=200, db_index=True)  # a rule id (lowercase) or name

    class Meta:
        ordering = ["rule", "kind", "target"]

    def __str__(self):
        return f"{self.rule_id} {self.kind} {self.target}"


class RuleVersion(models.Model):
    """The previous content of a rule, kept whenever an import changes it."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    import_run = models.ForeignKey(ImportRun, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    title = models.CharField(max_length=500)
    yaml_text = models.TextField()
    content_hash = models.CharField(max_length=64)
    indicators = models.JSONField(default=list)  # ["field|kind|value", ...]
    commit = models.CharField(max_length=64, blank=True)  # a git source's commit that made this change

    class Meta:
        ordering = ["rule", "-recorded_at"]

    def __str__(self):
        return f"{self.title} before run {self.import_run_id}"
