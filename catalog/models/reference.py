"""ATT&CK tactics and techniques, and the log events rules cover."""

from django.db import models


class Tactic(models.Model):
    shortname = models.CharField(max_length=64, unique=True)
    attack_id = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=128)
    order = models.PositiveSmallIntegerField(default=50)
    legacy = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "shortname"]

    def __str__(self):
        return self.name


class Technique(models.Model):
    technique_id = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=256, blank=True)
    known = models.BooleanField(default=True)
    tactics = models.ManyToManyField(Tactic, related_name="techniques", blank=True)

    class Meta:
        ordering = ["technique_id"]

    def __str__(self):
        return f"{self.technique_id} {self.name}".strip()


class EventType(models.Model):
    provider = models.CharField(max_length=128)
    event_id = models.IntegerField(null=True, blank=True)  # null = the whole channel
    title = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["provider", "event_id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="unique_event_type"),
        ]

    def __str__(self):
        event = f"Event ID {self.event_id}" if self.event_id is not None else "any event"
        return f"{self.provider} {event} {self.title}".strip()
