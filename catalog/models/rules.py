"""The rule, how every reader selects rules (RuleQuerySet), and its curator-owned fields."""

from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Coalesce, Lower, NullIf, Upper

from catalog.core.reference import attack
from catalog.models.choices import Level
from catalog.models.reference import EventType, Tactic, Technique
from catalog.models.sources import ImportRun, Source

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


# What the title sort skips at the start of a title: spaces and ASCII punctuation (".Class Extension URI
# Ending Request" sorts under C, "(Legacy) ..." under L). Letters and digits are kept.
SORT_SKIPPED = " \t.,;:!?'\"`-_()[]{}<>/\\|@#$%^&*+=~"

# Columns no listing row shows, and the largest of a rule (kilobytes each).
LISTING_DEFERRED = (
    "yaml_text",
    "search_text",
    "conditions",
    "condition_tree",
    "correlation",
    "other_fields",
    "filter_rules",
    "warnings",
    "findings",
    "references",
    "falsepositives",
    "related",
)


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
        return self.filter(level_shown__in=levels)

    def matching_text(self, text: str):
        """Rules whose search text holds every word of `text`, any case."""
        queryset = self
        for term in text.casefold().split():
            queryset = queryset.filter(search_text__contains=term)
        return queryset

    def for_listing(self):
        """What a listing row shows: the source joined, techniques in one extra query; the rule's large
        columns (its YAML, parsed detection, search text) are left in the database."""
        return self.select_related("source").prefetch_related("techniques").defer(*LISTING_DEFERRED)


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
    # Rule quality (catalog.core.quality): the validators' findings and the import's repairs, computed when the
    # rule's content is prepared, [{validator, severity, message, line?}] worst first; `quality` is the worst
    # severity (high, medium, low) or "clean", what the quality facet filters and counts on an index.
    findings = models.JSONField(default=list, blank=True)
    quality = models.CharField(max_length=8, blank=True, db_index=True)
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
    commit = models.CharField(max_length=64, blank=True)  # a git source's commit this content was imported from

    # Curation: written by curators (admin, `curate`, `import_curation`), never by an import.
    note = models.TextField(blank=True)
    verified = models.BooleanField(default=False, db_index=True)
    verified_by = models.CharField(max_length=150, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    hidden = models.BooleanField(default=False, db_index=True)
    local_tags_added = models.JSONField(default=list, blank=True)
    local_tags_removed = models.JSONField(default=list, blank=True)
    level_override = models.CharField(max_length=32, blank=True, choices=Level.choices)
    # The level lists filter, count and sort by (the override, else Sigma's), computed and indexed by
    # the database so that a level filter is an index lookup, not a scan of every (wide) rule row.
    # Read it in SQL only: on an object in memory, use `effective_level`.
    level_shown = models.GeneratedField(
        expression=Coalesce(NullIf("level_override", Value("")), "level"),
        output_field=models.CharField(max_length=32),
        db_persist=True,
    )
    fp_note = models.TextField("false-positive note", blank=True)
    # The key of the title sort (the rule lists' default order): the title in lower case, leading punctuation
    # skipped, computed and indexed by the database (LTRIM with a character set: SQLite and PostgreSQL alike).
    sort_title = models.GeneratedField(
        expression=Lower(Func(F("title"), Value(SORT_SKIPPED), function="LTRIM")),
        output_field=models.CharField(max_length=500),
        db_persist=True,
    )

    # Sigma's `status` and `level` stay free text: third-party rules write other values, kept as written.
    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        # A rule row is wide (its YAML, parsed detection, search text): a list that read every row to
        # check `hidden`/`retired` or to sort by title would read the whole table (0.5 s on SQLite at
        # 20x SigmaHQ). These keep counting and the default order on narrow indexes.
        indexes = [
            models.Index(fields=["hidden", "retired"], name="rule_visibility"),
            models.Index(fields=["level_shown", "hidden", "retired"], name="rule_level_shown"),
            models.Index(
                fields=["sort_title", "id"],
                condition=models.Q(hidden=False, retired=False),
                name="rule_live_by_sort_title",
            ),
            # A search's exact answers (catalog.search.ranking.exact_ids): its title or name in any case, found
            # without reading every rule. The name's index holds only the rules that have one: most have none, and
            # over an index of 75,600 equal values (20x SigmaHQ) SQLite's planner read the whole index (10 ms).
            models.Index(Upper("title"), name="rule_upper_title"),
            models.Index(Upper("name"), condition=~models.Q(name=""), name="rule_upper_name_set"),
        ]

    def __str__(self):
        return self.title

    @property
    def effective_level(self):
        return self.level_override or self.level

    @property
    def effective_tags(self):
        return effective_tags(self.tags, self.local_tags_added, self.local_tags_removed)

    def attack_table(self) -> list[attack.AttackEntry]:
        """The rule's ATT&CK table from its stored tactics and techniques (prefetch them): the rule page,
        the API record and the bulk exports share it."""
        return attack.rule_attack_table(
            [t.shortname for t in self.tactics.all()], [t.technique_id for t in self.techniques.all()]
        )

    def refresh_tag_text(self):
        """Recompute the tag filter column after Sigma tags or local tags changed."""
        self.tag_text = tag_text(self.effective_tags)


def effective_tags(sigma_tags, added, removed):
    removed = {t.lower() for t in removed}
    tags = [t for t in sigma_tags if t.lower() not in removed]
    return tags + [t for t in added if t.lower() not in {x.lower() for x in tags}]


def tag_text(tags):
    return "|" + "|".join(t.lower() for t in tags) + "|" if tags else ""
