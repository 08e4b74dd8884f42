"""Summary tables: the counts that list pages, facets, the ATT&CK matrix and the field list show for the
whole catalog, stored so that a page reads a few hundred rows instead of aggregating every rule.

They are derived data, rewritten by catalog.publishing.summaries.refresh in the same transaction as the change
that makes them stale (an import, a visibility change, a curation save: see
catalog.publishing.versioning.bump_version), so
they are exact whenever a page can read them.
"""

from django.db import models


class CountSummary(models.Model):
    """One count over the live, public rules: e.g. ("level", "high") -> 512 rules, ("technique", "T1059") ->
    rules tagged with exactly it, ("technique_rolled", "T1059") -> with it or a sub-technique, ("total", "rules")."""

    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=500)
    label = models.CharField(max_length=500, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="countsummary_kind_key")]

    def __str__(self):
        return f"{self.kind} {self.key}: {self.count}"


class FieldSummary(models.Model):
    """A field's counts over the live, public rules (the /fields/ table); product/category/service empty
    for the field's whole row, set for one log source's row."""

    field = models.CharField(max_length=200)
    product = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    service = models.CharField(max_length=100, blank=True)
    whole = models.BooleanField(default=False)  # the field's row over every log source
    rules = models.PositiveIntegerField()
    indicators = models.PositiveIntegerField(default=0)
    rules_looking = models.PositiveIntegerField()
    rules_excluding = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["whole", "-rules", "field"], name="fieldsummary_order")]

    def __str__(self):
        return f"{self.field or '(keywords)'}: {self.rules} rules"


class LogsourceSummary(models.Model):
    """A product / category / service combination with its number of live, public rules (/logsources/)."""

    product = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    service = models.CharField(max_length=100, blank=True)
    rules = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.product}/{self.category}/{self.service}: {self.rules} rules"
