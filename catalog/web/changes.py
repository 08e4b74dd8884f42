"""What each import added, changed and retired: /changes/, its Atom feed and its JSON twin.

ImportRun.changes holds rule ids; they are resolved to titles and links here, in one query per
page, and hidden rules are left out (counts included, so a hidden rule leaves no trace).
Runs that changed nothing are not listed. A run's lists are capped on the listing pages;
`?run=N` shows one run in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join

from catalog.models import ImportRun, Rule

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


def rule_url(rule_id: str) -> str | None:
    try:
        return reverse("rule-detail", kwargs={"rule_uuid": rule_id})
    except NoReverseMatch:  # the public rule page is not routed (yet)
        return None


def resolve_runs(runs, per_list: int | None = RULES_PER_LIST) -> list[RunChanges]:
    """Each run's changes as rule links, hidden rules left out: two queries for any number of runs."""
    runs = list(runs)
    hidden = {str(u) for u in Rule.objects.filter(hidden=True).values_list("uuid", flat=True)}
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
        for uuid, title, level, override, source in Rule.objects.filter(uuid__in=sorted(wanted)).values_list(
            "uuid", "title", "level", "level_override", "source__name"
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


def _page(request):
    """(page of resolved runs, paginator page, single run or None) for the HTML and JSON views."""
    run_id = request.GET.get("run")
    if run_id:
        try:
            run = ImportRun.objects.get(pk=int(run_id))
        except (ValueError, ImportRun.DoesNotExist):
            raise Http404("no such import run") from None
        return resolve_runs([run], per_list=None), None, run
    paginator = Paginator(changed_runs(), RUNS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return resolve_runs(page.object_list), page, None


def changes_page(request):
    """/changes/: what each import added, changed and retired, newest first, paginated by run."""
    runs, page, single = _page(request)
    return render(
        request,
        "catalog/changes.html",
        {
            "runs": runs,
            "page": page,
            "single_run": single,
            "per_list": RULES_PER_LIST,
        },
    )


def _link_json(request, link: RuleLink) -> dict:
    return {
        "id": link.id,
        "title": link.title or None,
        "level": link.level or None,
        "source": link.source or None,
        "url": request.build_absolute_uri(link.url) if link.url else None,
    }


def run_json(request, item: RunChanges) -> dict:
    run = item.run
    data = {
        "run": run.pk,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "sources": run.sources,
        "files_read": run.files_read,
        "unchanged": run.unchanged,
        "warnings": run.warning_count,
        "errors": run.error_count,
        "url": request.build_absolute_uri(f"{reverse('changes')}?run={run.pk}"),
    }
    for change in item.lists:
        data[change.kind] = {
            "count": change.count,
            "rules": [_link_json(request, link) for link in change.rules],
            "more": change.more,
        }
    return data


def changes_json(request):
    """/api/changes/: the JSON twin of /changes/ (same pages, same `run` parameter)."""
    runs, page, single = _page(request)
    if single is not None:
        return JsonResponse(run_json(request, runs[0]))

    def page_link(number):
        params = request.GET.copy()
        params["page"] = number
        return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

    return JsonResponse(
        {
            "count": page.paginator.count,
            "page": page.number,
            "num_pages": page.paginator.num_pages,
            "next": page_link(page.next_page_number()) if page.has_next() else None,
            "previous": page_link(page.previous_page_number()) if page.has_previous() else None,
            "results": [run_json(request, item) for item in runs],
        }
    )


class ChangesFeed(Feed):
    """/changes/feed/: one Atom entry per import run that changed rules."""

    feed_type = Atom1Feed
    title = "Sigma rule catalog: changes"
    subtitle = "Rules added, changed and retired by each import."
    author_name = "Sigma rule catalog"

    def link(self):
        return reverse("changes")

    def get_object(self, request, *args, **kwargs):
        return request  # items() needs it for absolute rule links inside the entries

    def items(self, request):
        runs = resolve_runs(changed_runs()[:FEED_RUNS])
        for item in runs:
            for change in item.lists:
                for link in change.rules:
                    link.url = request.build_absolute_uri(link.url) if link.url else None
        return runs

    def item_title(self, item: RunChanges):
        run = item.run
        counts = ", ".join(f"{c.count} {c.label.lower()}" for c in item.lists if c.count)
        sources = ", ".join(run.sources) or "rules"
        return f"Import of {sources} on {run.started_at:%Y-%m-%d %H:%M}: {counts or 'no visible changes'}"

    def item_description(self, item: RunChanges):
        parts = []
        for change in item.lists:
            if not change.count:
                continue
            rows = format_html_join(
                "",
                "<li>{}</li>",
                (
                    (
                        format_html('<a href="{}">{}</a>', link.url, link.title)
                        if link.url and link.title
                        else link.title or link.id,
                    )
                    for link in change.rules
                ),
            )
            more = format_html("<li>… and {} more</li>", change.more) if change.more else ""
            parts.append(format_html("<h3>{} ({})</h3><ul>{}{}</ul>", change.label, change.count, rows, more))
        return format_html_join("", "{}", ((p,) for p in parts))

    def item_link(self, item: RunChanges):
        return f"{reverse('changes')}?run={item.run.pk}"

    def item_pubdate(self, item: RunChanges):
        return item.run.started_at

    def item_updateddate(self, item: RunChanges):
        return item.run.finished_at or item.run.started_at
