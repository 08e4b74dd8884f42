"""Persistence only: the catalog's tables. Parsing lives in catalog.sigma, writing in catalog.importing."""

from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q


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

# Fields that belong to curators: no import ever writes them (see importer.SIGMA_FIELDS).
CURATION_FIELDS = [
    "note",
    "verified",
    "verified_by",
    "verified_at",
    "hidden",
    "local_tags_added",
    "local_tags_removed",
    "level_override",
    "fp_note",
]


class Source(models.Model):
    """A named rule repository (a folder on disk) that rules are imported from."""

    name = models.CharField(max_length=200, unique=True)
    location = models.CharField(max_length=1000, blank=True)  # the first folder imported
    roots = models.JSONField(default=list, blank=True)  # every folder imported under this name
    # Where the rule files are published, e.g. https://github.com/SigmaHQ/sigma/blob/master/: a rule's
    # page links its file as base_url + rule.path (its path starts with the imported folder's name).
    base_url = models.URLField(
        "upstream base URL",
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Optional. The web address that rule paths are relative to, e.g. "
        "https://github.com/SigmaHQ/sigma/blob/master/ (rule pages then link their file upstream).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("reimport_source", "Can re-import a source from the admin")]

    def __str__(self):
        return self.name


class ImportRun(models.Model):
    """One `import_rules` run: what it read, what it changed, every problem with file and line."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    paths = models.JSONField(default=list)
    sources = models.JSONField(default=list)
    files_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    retired = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list)  # [{path, line, message, severity}]
    changes = models.JSONField(default=dict)  # {"created": [uuid], "updated": [...], "retired": [...]}

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Import {self.started_at:%Y-%m-%d %H:%M} ({self.created} created, {self.updated} updated)"


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


def public_rules_q(prefix: str = "") -> Q:
    """Q for rules a visitor may see (not hidden by a curator), through a relation when `prefix` is given.

    For filters across relations (`Count("rules", filter=public_rules_q("rules"))`); a rule queryset
    reads the same rule as `Rule.objects.public()`.
    """
    return Q(**{_lookup(prefix, "hidden"): False})


def live_rules_q(prefix: str = "") -> Q:
    """Q for public rules still present in their repository (not retired): what listings and counts show."""
    return public_rules_q(prefix) & Q(**{_lookup(prefix, "retired"): False})


def _lookup(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


class RuleQuerySet(models.QuerySet):
    """How every reader selects rules. Visibility is spelled out here once:

    * public: not hidden (a curator's decision); hidden rules appear on no public page or API;
    * live: public and not retired (still in its repository); listings and counts are about these.
    """

    def public(self):
        return self.filter(public_rules_q())

    def live(self):
        return self.filter(live_rules_q())

    def with_tag(self, tag: str):
        """Rules whose effective tags (Sigma tags with curators' changes) include `tag`, any case."""
        return self.filter(tag_text__contains=f"|{tag.strip().lower()}|")

    def with_technique(self, technique_id: str):
        """Rules tagged with a technique or one of its sub-techniques (T1059 includes T1059.001)."""
        technique_id = technique_id.strip().upper()
        return self.filter(
            Q(techniques__technique_id=technique_id) | Q(techniques__technique_id__startswith=technique_id + ".")
        ).distinct()

    def with_level(self, levels):
        """Rules whose effective level (a curator's override, else the Sigma level) is one of `levels`."""
        return self.filter(Q(level_override__in=levels) | Q(level_override="", level__in=levels))

    def matching_text(self, text: str):
        """Rules whose search text holds every word of `text`, any case."""
        queryset = self
        for term in text.casefold().split():
            queryset = queryset.filter(search_text__contains=term)
        return queryset

    def for_listing(self):
        """What a listing row shows: the source joined, techniques in one extra query."""
        return self.select_related("source").prefetch_related("techniques")


class Rule(models.Model):
    uuid = models.UUIDField(unique=True)
    title = models.CharField(max_length=500)
    rule_type = models.CharField(max_length=16, default="rule", db_index=True)
    name = models.CharField(max_length=200, blank=True, db_index=True)
    status = models.CharField(max_length=32, blank=True, db_index=True)
    level = models.CharField(max_length=32, blank=True, db_index=True)
    description = models.TextField(blank=True)
    author = models.TextField(blank=True)
    date = models.DateField(null=True, blank=True)
    modified = models.DateField(null=True, blank=True, db_index=True)
    license = models.CharField(max_length=200, blank=True)
    references = models.JSONField(default=list, blank=True)
    falsepositives = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    related = models.JSONField(default=list, blank=True)
    product = models.CharField(max_length=100, blank=True, db_index=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    service = models.CharField(max_length=100, blank=True, db_index=True)
    logsource = models.JSONField(default=dict, blank=True)
    other_fields = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    condition_tree = models.JSONField(null=True, blank=True)  # and/or/not over block names
    correlation = models.JSONField(default=dict, blank=True)
    filter_rules = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)  # [{line, message}]
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="rules")
    path = models.CharField(max_length=1000)
    doc_line = models.PositiveIntegerField(default=1)
    yaml_text = models.TextField()
    content_hash = models.CharField(max_length=64)  # of the rule's document (and parser version)
    file_hash = models.CharField(max_length=64, blank=True)  # of its whole file: unchanged files are skipped
    id_derived = models.BooleanField(default=False)
    retired = models.BooleanField(default=False, db_index=True)
    search_text = models.TextField(blank=True)  # casefolded title, description, tags, author, id, indicator values
    tag_text = models.TextField(blank=True)  # "|tag|tag|": effective tags (Sigma +/- local), for exact tag filters
    tactics = models.ManyToManyField(Tactic, related_name="rules", blank=True)
    techniques = models.ManyToManyField(Technique, related_name="rules", blank=True)
    events = models.ManyToManyField(EventType, related_name="rules", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_changed_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    # Curation: written by curators (admin, `curate`, `import_curation`), never by an import.
    note = models.TextField(blank=True)
    verified = models.BooleanField(default=False, db_index=True)
    verified_by = models.CharField(max_length=150, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    hidden = models.BooleanField(default=False, db_index=True)
    local_tags_added = models.JSONField(default=list, blank=True)
    local_tags_removed = models.JSONField(default=list, blank=True)
    level_override = models.CharField(max_length=32, blank=True, choices=Level.choices)
    fp_note = models.TextField("false-positive note", blank=True)

    # Sigma's `status` and `level` stay free text: third-party rules write other values, kept as written.
    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    @property
    def effective_level(self):
        return self.level_override or self.level

    @property
    def effective_tags(self):
        return effective_tags(self.tags, self.local_tags_added, self.local_tags_removed)

    def refresh_tag_text(self):
        """Recompute the tag filter column after Sigma tags or local tags changed."""
        self.tag_text = tag_text(self.effective_tags)


def effective_tags(sigma_tags, added, removed):
    removed = {t.lower() for t in removed}
    tags = [t for t in sigma_tags if t.lower() not in removed]
    return tags + [t for t in added if t.lower() not in {x.lower() for x in tags}]


def tag_text(tags):
    return "|" + "|".join(t.lower() for t in tags) + "|" if tags else ""


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


class Polarity(models.TextChoices):
    """Whether a rule looks for a value or excludes it: the parity of `not`s above its block in the condition."""

    LOOKS_FOR = "looks_for", "looks for"
    EXCLUDES = "excludes", "excludes"
    BOTH = "both", "both"


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

    class Meta:
        ordering = ["rule", "-recorded_at"]

    def __str__(self):
        return f"{self.title} before run {self.import_run_id}"


class CatalogVersion(models.Model):
    """A counter bumped whenever what the public pages show may have changed (imports, curation).

    Cached pages are keyed by it, so every gunicorn worker drops stale pages on its next request.
    """

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"catalog version {self.number}"

    @classmethod
    def current(cls) -> int:
        row = cls.objects.filter(pk=1).values_list("number", flat=True).first()
        return row or 0

    @classmethod
    def bump(cls) -> None:
        if not cls.objects.filter(pk=1).update(number=models.F("number") + 1):
            cls.objects.get_or_create(pk=1, defaults={"number": 1})


# Background re-imports asked for in the admin (catalog/jobs/): a table of this app, defined with its code.
from catalog.jobs.models import ImportJob  # noqa: E402, F401
from catalog.search.models import RuleSearch  # noqa: E402, F401  (the search document table)
