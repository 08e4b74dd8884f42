"""What each import added, changed and retired: the data of /changes/, its Atom feed and /api/changes/.

ImportRun.changes holds rule ids; they are resolved to titles and links here, in one query per
page, and hidden rules are left out (counts included, so a hidden rule leaves no trace).
Runs that changed nothing are not listed. A run's lists are capped on the listing pages;
`?run=N` shows one run in full; `?source=NAME` only the runs that imported that source. A git source's run
also shows the commit it imported and the commits since the one before, linked to the forge when it is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.urls import NoReverseMatch, reverse

from catalog.models import ImportRun, Rule, public_rules_q
from catalog.platform.repository_links import commit_url

RUNS_PER_PAGE = 10
RULES_PER_LIST = 50  # per kind of change and run on the listing pages
FEED_RUNS = 20
KINDS = ("created", "updated", "retired")
KIND_LABELS = {"created": "Added", "updated": "Changed", "retired": "Retired"}


@dataclass
class RuleLink:
    id: str
    title: str  # '' when the rule is no longer in the catalog
    level: str = ""
    source: str = ""
    url: str | None = None


@dataclass
class ChangeList:
    kind: str
    count: int
    rules: list[RuleLink] = field(default_factory=list)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def more(self) -> int:
        return self.count - len(self.rules)


@dataclass
class Commit:
    sha: str
    subject: str = ""
    author: str = ""
    date: str = ""
    url: str = ""

    @property
    def short(self) -> str:
        return self.sha[:12]


@dataclass
class RunChanges:
    run: ImportRun
    lists: list[ChangeList]
    commit: Commit | None = None  # a git source's run: the commit imported
    commits: list[Commit] = field(default_factory=list)  # the commits since the previous one, newest first

    @property
    def total(self) -> int:
        return sum(c.count for c in self.lists)

    def get(self, kind: str) -> ChangeList:
        return next(c for c in self.lists if c.kind == kind)


def changed_runs(source: str | None = None):
    """Import runs that created, updated or retired at least one rule (of `source`, when given), newest first."""
    runs = ImportRun.objects.filter(Q(created__gt=0) | Q(updated__gt=0) | Q(retired__gt=0))
    if source:
        runs = runs.filter(source_rows__name=source)
    return runs.order_by("-started_at", "-pk")


def git_sources_of(runs: list[ImportRun]) -> dict[int, object]:
    """The git source of each run that imported a commit: one query, none when no run did."""
    with_commit = [run.pk for run in runs if run.commit]
    if not with_commit:
        return {}
    links = ImportRun.source_rows.through.objects.filter(importrun_id__in=with_commit).exclude(source__git_url="")
    return {link.importrun_id: link.source for link in links.select_related("source")}


def run_commits(run: ImportRun, git) -> tuple[Commit | None, list[Commit]]:
    """The run's commit and the commits it covers, each linked through its git source `git` (None: unlinked)."""
    if not run.commit:
        return None, []

    def link(sha: str) -> str:
        return commit_url(git.base_url, git.git_url, sha) if git else ""

    listed = [
        Commit(c.get("sha", ""), c.get("subject", ""), c.get("author", ""), c.get("date", ""), link(c.get("sha", "")))
        for c in run.commits or []
        if isinstance(c, dict)
    ]
    return Commit(run.commit, url=link(run.commit)), listed


def resolve_runs(runs, per_list: int | None = RULES_PER_LIST) -> list[RunChanges]:
    """Each run's changes as rule links, hidden rules left out: two queries for any number of runs (a third
    when some runs imported a git commit: their sources, for the commits' links)."""
    runs = list(runs)
    git = git_sources_of(runs)
    hidden = {str(u) for u in Rule.objects.exclude(public_rules_q()).values_list("uuid", flat=True)}
    visible = {}
    wanted: set[str] = set()
    for run in runs:
        for kind in KINDS:
            ids = [str(i).lower() for i in (run.changes or {}).get(kind, [])]
            ids = [i for i in dict.fromkeys(ids) if i not in hidden]
            visible[(run.pk, kind)] = ids
            wanted.update(ids if per_list is None else ids[:per_list])
    known = {}
    if wanted:
        for uuid, title, level, override, source in (
            Rule.objects.public()
            .filter(uuid__in=sorted(wanted))
            .values_list("uuid", "title", "level", "level_override", "source__name")
        ):  # a curator's level override is the rule's level everywhere in public
            known[str(uuid)] = RuleLink(str(uuid), title, override or level, source, rule_url(str(uuid)))
    result = []
    for run in runs:
        lists = []
        for kind in KINDS:
            ids = visible[(run.pk, kind)]
            shown = ids if per_list is None else ids[:per_list]
            links = [known.get(i) or RuleLink(i, "") for i in shown]
            links.sort(key=lambda link: (link.title == "", link.title.lower(), link.id))
            lists.append(ChangeList(kind, len(ids), links))
        result.append(RunChanges(run, lists, *run_commits(run, git.get(run.pk))))
    return result


def changes_page_data(
    run_id: str | None, page_number, source: str | None = None
) -> tuple[list[RunChanges], object, ImportRun | None]:
    """What /changes/ and /api/changes/ show: (resolved runs, paginator page, the single run or None).

    With `run_id`, that one run in full (Http404 when there is none); else one page of runs, of `source`'s
    imports only when it is given (an unknown source: no runs).
    """
    if run_id:
        try:
            run = ImportRun.objects.get(pk=int(run_id))
        except (ValueError, ImportRun.DoesNotExist):
            raise Http404("no such import run") from None
        return resolve_runs([run], per_list=None), None, run
    paginator = Paginator(changed_runs(source), RUNS_PER_PAGE)
    page = paginator.get_page(page_number)
    return resolve_runs(page.object_list), page, None


def rule_url(rule_id: str) -> str | None:
    """The path of a rule's public page (None for an id that is not a rule id)."""
    try:
        return reverse("browse:rule-detail", kwargs={"rule_uuid": rule_id})
    except NoReverseMatch:
        return None
