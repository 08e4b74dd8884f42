"""Git sources: add one, and sync it (fetch its branch, import its folders at that commit, record the outcome).

`add_source` and `sync_sources` (management commands), the admin's "sync now" and the push webhook
(catalog/importing/sync_jobs.py, webhooks.py) all end in `sync(source)`:
1. fetch the branch into the source's checkout (catalog/importing/git_sources.py); a repository that cannot
   be read is reported and nothing else happens: no import, nothing retired, the catalog as it was;
2. when the branch's tip is the commit imported last, stop there: the import is skipped, and the report says so
   (an unchanged sync costs one fetch, not a read and hash of every rule file);
3. otherwise import the folders at that commit, with its provenance (the commit of each changed file), confined
   to the checkout (a link in a repository never publishes a file from elsewhere on the server).
A force-pushed branch is fetched and checked out like any other (the checkout is reset to the new tip), and
the report says so; files gone from the new history retire their rules as usual.

One sync of a source at a time on this machine (a lock file beside its checkout): a webhook that arrives
while a sync runs waits for it, then fetches what was pushed meanwhile.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.importing.files import confined_to
from catalog.importing.git_sources import (
    Checkout,
    GitError,
    SourceSettingError,
    check_branch,
    check_name,
    check_paths,
    check_url,
)
from catalog.importing.importer import import_paths
from catalog.importing.provenance import Provenance
from catalog.importing.report import ImportReport
from catalog.models import Rule, Source


def short(commit: str) -> str:
    return commit[:12]


@dataclass
class SyncResult:
    source: str
    commit: str = ""
    previous: str = ""
    branch: str = ""
    cloned: bool = False
    rewritten: bool = False
    skipped: bool = False
    commits: list[dict] = field(default_factory=list)
    report: ImportReport | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not (self.report and self.report.rolled_back)

    def summary(self) -> str:
        """One line: what the sync fetched and what it did with it."""
        name, branch = self.source, f"branch {self.branch}" if self.branch else "the default branch"
        if self.error:
            return f"{name}: {self.error}. Nothing was imported; the catalog is unchanged."
        if self.skipped:
            return f"{name}: {branch} is still at {short(self.commit)}, the commit imported last: import skipped"
        if self.rewritten:
            head = (
                f"{name}: {branch} was force-pushed: {short(self.previous)} is not an ancestor of "
                f"{short(self.commit)}; the checkout was reset to {short(self.commit)}"
            )
        elif self.previous:
            moved = f"{short(self.previous)} -> {short(self.commit)}"
            head = f"{name}: {moved}, {len(self.commits)} commit(s) in the folders"
        else:
            head = f"{name}: {'cloned' if self.cloned else 'fetched'} {branch} at {short(self.commit)}"
        return f"{head}; {self.report.summary()}" if self.report else head

    @property
    def lines(self) -> list[str]:
        """What the commands print: the import's problems (as `import_rules` prints them), then the summary."""
        problems = [f"{p} [{p.severity}]" for p in self.report.problems] if self.report else []
        return [*problems, self.summary()]


def add_source(
    name: str,
    url: str,
    branch: str = "",
    paths: list[str] | None = None,
    base_url: str | None = None,
    interval: timedelta | None = None,
) -> tuple[Source, str]:
    """Create the git source, or update its settings; (the row, what was done). SourceSettingError if invalid.

    A source that already exists (imported from folders before, say) becomes a git source and keeps its rules:
    they are found unchanged when the same files are imported from its checkout.
    """
    name, url, branch, paths = check_name(name), check_url(url), check_branch(branch), check_paths(paths or [])
    with transaction.atomic():
        source = Source.objects.select_for_update().filter(name=name).first()
        created = source is None
        if created:
            source = Source(name=name)
        before = (source.git_url, source.branch, source.git_paths)
        source.git_url, source.branch, source.git_paths = url, branch, paths
        if base_url is not None:
            source.base_url = base_url
        if interval is not None:
            source.sync_interval = interval or None
        if before != (url, branch, paths):
            source.synced_commit = ""  # other folders or another history: the next sync imports in full
        source.location = source.location or str(Checkout(name, url).folder)
        source.save()
    if created:
        return source, f"added git source {name}: {url}"
    changed = "" if before == (url, branch, paths) else ", settings changed (the next sync imports in full)"
    return source, f"git source {name}: {url}{changed}"


def sync(source: Source, force: bool = False) -> SyncResult:
    """Fetch the source's branch and import what changed; the outcome is also recorded on the source."""
    if not source.git_url:
        return SyncResult(source.name, error="not a git source (no repository URL): add it with `manage.py add_source`")
    with _lock(check_name(source.name)):
        source.refresh_from_db()
        result = SyncResult(source.name, previous=source.synced_commit, branch=source.branch)
        checkout = None
        try:
            checkout = Checkout(source.name, source.git_url, source.branch, source.git_paths)
            fetched = checkout.fetch(source.synced_commit)
            result.commit, result.cloned, result.rewritten = fetched.commit, fetched.cloned, fetched.rewritten
            if fetched.commit == source.synced_commit and not force:
                result.skipped = True
            else:
                commits, file_commits = checkout.log(source.synced_commit, fetched.commit)
                result.commits = commits
                provenance = Provenance(fetched.commit, source.synced_commit, tuple(commits), file_commits)
                with confined_to([checkout.folder]):
                    result.report = import_paths(checkout.roots, source=source.name, provenance=provenance)
                if not result.report.rolled_back:
                    _date_unchanged_rules(source, checkout, fetched.commit)
        except (GitError, SourceSettingError) as exc:
            result.error = str(exc)
        _record(source, result, checkout.roots if checkout and result.report else None)
        return result


def due_sources(now=None) -> list[Source]:
    """Git sources with an interval whose last sync attempt is at least that old (or that were never synced)."""
    now = now or timezone.now()
    sources = Source.objects.exclude(git_url="").filter(sync_interval__isnull=False).order_by("name")
    return [s for s in sources if s.last_sync_at is None or s.last_sync_at + s.sync_interval <= now]


def git_sources(names: list[str] | None = None) -> list[Source]:
    """The named sources (SourceSettingError naming any that is unknown or not a git source), else every git source."""
    if not names:
        return list(Source.objects.exclude(git_url="").order_by("name"))
    found = {s.name: s for s in Source.objects.filter(name__in=names)}
    missing = [n for n in names if n not in found or not found[n].git_url]
    if missing:
        raise SourceSettingError(f"no git source named {', '.join(missing)} (add one with `manage.py add_source`)")
    return [found[n] for n in names]


def _date_unchanged_rules(source: Source, checkout: Checkout, commit: str) -> None:
    """Rules of the folders that no sync has dated (imported from a local folder before the source became a git
    source, found unchanged): their files are as at this commit, so their upstream links name it."""
    names = {Path(root).name for root in checkout.roots}
    undated = Rule.objects.filter(source=source, commit="", retired=False)
    pks = [pk for pk, path in undated.values_list("pk", "path") if path.split("/", 1)[0] in names]
    Rule.objects.filter(pk__in=pks).update(commit=commit)


def _record(source: Source, result: SyncResult, roots: list[str] | None) -> None:
    fields = {"last_sync_at": timezone.now(), "last_sync_error": result.summary() if result.error else ""}
    if result.report is not None and not result.report.rolled_back:
        fields["synced_commit"] = result.commit
        fields["roots"] = roots  # the checkout's folders: re-imports and regression data read these
    Source.objects.filter(pk=source.pk).update(**fields)


@contextmanager
def _lock(name: str) -> Iterator[None]:
    folder = Path(settings.CATALOG_SOURCES_DIR).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / f".{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # released when the descriptor closes, even if the process dies
        yield
    finally:
        os.close(descriptor)
