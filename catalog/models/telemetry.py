"""Telemetry tables: curators' saved profiles, and the per-rule summary coverage is computed from.

A rule's *need* is what running it takes: its log source (product, category, service), the log
events the catalog maps it to, and the fields it looks for (polarity looks_for or both; fields it
only excludes are not needed). Rules with the same need share one `NeedSignature`; SigmaHQ's ~3,800
rules have about a thousand, and a corpus 20 times bigger of the same kinds of rules barely more,
so a profile's coverage is computed over signatures, not rules. `rule_count` and
`technique_counts` are of live, public rules, recounted whenever visibility is
published (catalog.publishing.visibility).
"""

from django.db import models


class TelemetryProfile(models.Model):
    """A named set of collected events and log sources, saved by a curator and listed for everyone."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    events = models.TextField(blank=True, help_text="Comma-separated provider:event_id, e.g. sysmon:1,security:4688")
    logsources = models.TextField(blank=True, help_text="Comma-separated product:category:service, e.g. linux::auditd")
    unfilled = models.TextField(
        blank=True,
        help_text="Comma-separated provider:event_id:field the events never fill, e.g. sysmon:1:parentuser "
        "(a profile read from a sample of logs: manage.py infer_profile)",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "catalog"
        ordering = ["name"]

    def __str__(self):
        return self.name


class NeedSignature(models.Model):
    key = models.CharField(max_length=64, unique=True)  # sha256 of the need
    product = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    service = models.CharField(max_length=100, blank=True)
    events = models.JSONField(default=list)  # ["security:4624", "system:*", ...]
    fields = models.JSONField(default=list)  # looked-for field names, sorted
    rule_count = models.PositiveIntegerField(default=0, db_index=True)  # live, public rules
    # Live rules per technique, sub-techniques rolled up into their technique: "T1003:4 T1003.001:3".
    technique_counts = models.TextField(blank=True)
    # The events it runs with every looked-for field carried (catalog.core.taxonomy.ways), space-delimited:
    # " sysmon:1 security:4688 ". Kept exact by catalog.coverage.summary; the event pages filter on it.
    runs = models.TextField(blank=True, default="")

    class Meta:
        app_label = "catalog"

    def __str__(self):
        return f"{self.product}/{self.category}/{self.service} {self.fields}"


class RuleNeed(models.Model):
    rule = models.OneToOneField("catalog.Rule", on_delete=models.CASCADE, primary_key=True, related_name="need")
    signature = models.ForeignKey(NeedSignature, on_delete=models.CASCADE, related_name="rule_needs")
    content_hash = models.CharField(max_length=64)  # the rule's content_hash when the need was read

    class Meta:
        app_label = "catalog"

    def __str__(self):
        return f"need of rule {self.rule_id}"
