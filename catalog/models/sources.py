"""Where rules come from and what each import did; the catalog version that keys cached pages."""

from datetime import UTC, datetime

from django.core.validators import URLValidator
from django.db import connection, models
from django.utils import timezone

# The source of the example rules that come with the catalog (rules/, imported by `make run`): the front
# page says so while they are all it holds, and leaves them out of "Recently modified" beside a real corpus.
EXAMPLES_SOURCE = "examples"


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

    # A git source (catalog/importing/git_sources.py, syncing.py): the repository its rules are synced from.
    # Credentials are never stored here: tokens and deploy keys come from the environment, per source name.
    git_url = models.CharField(
        "git repository",
        max_length=500,
        blank=True,
        help_text="Optional. A git URL (https://, ssh://, git@host:path, file://) to sync the rules from; "
        "no credentials in it (CATALOG_GIT_TOKEN_<NAME> or CATALOG_GIT_SSH_KEY_<NAME> in the environment).",
    )
    branch = models.CharField(max_length=200, blank=True, help_text="Empty: the repository's default branch.")
    git_paths = models.JSONField(
        "folders in the repository", default=list, blank=True, help_text="Empty: the whole repository."
    )
    sync_interval = models.DurationField(
        null=True, blank=True, help_text="Sync this often (`manage.py sync_sources --due`); empty: only when asked."
    )
    synced_commit = models.CharField(max_length=64, blank=True)  # the commit last imported in full
    last_sync_at = models.DateTimeField(null=True, blank=True)  # the last attempt, whatever its outcome
    last_sync_error = models.TextField(blank=True)  # why the last attempt failed ('' when it did not)

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
    # The sources imported (for /changes/?source=NAME: `sources` keeps the names as they were then).
    source_rows = models.ManyToManyField(Source, blank=True, related_name="import_runs")
    # A git source's sync: the commit imported, the one imported before, and the commits between them that
    # touched the imported folders ([{sha, subject, author, date}], newest first, at most COMMITS_KEPT).
    commit = models.CharField(max_length=64, blank=True)
    previous_commit = models.CharField(max_length=64, blank=True)
    commits = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Import {self.started_at:%Y-%m-%d %H:%M} ({self.created} created, {self.updated} updated)"


class CatalogVersion(models.Model):
    """A counter bumped whenever what the public pages show may have changed (imports, curation).

    Cached pages are keyed by it, so every gunicorn worker drops stale pages on its next request;
    HTTP responses carry it as their ETag and `changed_at` as their Last-Modified (catalog/platform/page_cache.py).
    """

    number = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"catalog version {self.number}"

    @classmethod
    def current(cls) -> int:
        return cls.state()[0]  # its plain SQL: a scan's worker read it once a file, through the ORM 2 ms each

    @classmethod
    def state(cls) -> tuple[int, object]:
        """(number, changed_at) in one query; (0, None) before the first change.

        Read on every anonymous request (catalog/platform/page_cache.py), so in plain SQL: compiling the
        ORM query cost more than running it.
        """
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT number, changed_at FROM {cls._meta.db_table} WHERE id = 1")
            row = cursor.fetchone()
        if row is None:
            return 0, None
        number, changed_at = row
        if isinstance(changed_at, str):  # SQLite without its converter
            changed_at = datetime.fromisoformat(changed_at)
        if changed_at is not None and changed_at.tzinfo is None:  # SQLite stores UTC, naive
            changed_at = changed_at.replace(tzinfo=UTC)
        return number, changed_at

    @classmethod
    def bump(cls) -> None:
        """The next version number, and now as its time. The counter only: write paths call
        catalog.publishing.versioning.bump_version, which also rewrites the summary tables in the same transaction
        (no savepoint of its own here: the same queries as when the method did both)."""
        if not cls.objects.filter(pk=1).update(number=models.F("number") + 1, changed_at=timezone.now()):
            cls.objects.get_or_create(pk=1, defaults={"number": 1})
