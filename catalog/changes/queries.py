"""What each import added, changed and retired: the data of /changes/, its Atom feed and /api/changes/.

ImportRun.changes holds rule ids; they are resolved to titles and links here, in one query per
page, and hidden rules are left out (counts included, so a hidden rule leaves no trace).
Runs that changed nothing are not listed. A run's lists are capped on the listing pages;
`?run=N` shows one run in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.urls import NoReverseMatch, reverse

from catalog.models import ImportRun, Rule, public_rules_q

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
class RunChanges:
    run: ImportRun
    lists: list[ChangeList]

    @property
    def total(self) -> int:
        return sum(c.count for c in self.lists)

    def get(self, kind: str) -> ChangeList:
        return next(c for c in self.lists if c.kind == kind)


def changed_runs():
    """Import runs that created, updated or retired at least one rule, newest first."""
    return ImportRun.objects.filter(Q(created__gt=0) | Q(updated__gt=0) | Q(retired__gt=0)).order_by(
        "-started_at", "-pk"
    )


def resolve_runs(runs, per_list: int | None = RULES_PER_LIST) -> list[RunChanges]:
    """Each run's changes as rule links, hidden rules left out: two queries for any number of runs."""
    runs = list(runs)
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
        result.append(RunChanges(run, lists))
    return result


def changes_page_data(run_id: str | None, page_number) -> tuple[list[RunChanges], object, ImportRun | None]:
    """What /changes/ and /api/changes/ show: (resolved runs, paginator page, the single run or None).

    With `run_id`, that one run in full (Http404 when there is none); else one page of runs.
    """
    if run_id:
        try:
            run = ImportRun.objects.get(pk=int(run_id))
        except (ValueError, ImportRun.DoesNotExist):
            raise Http404("no such import run") from None
        return resolve_runs([run], per_list=None), None, run
    paginator = Paginator(changed_runs(), RUNS_PER_PAGE)
    page = paginator.get_page(page_number)
    return resolve_runs(page.object_list), page, None


def rule_url(rule_id: str) -> str | None:
    """The path of a rule's public page (None for an id that is not a rule id)."""
    try:
        return reverse("browse:rule-detail", kwargs={"rule_uuid": rule_id})
    except NoReverseMatch:
        return None
