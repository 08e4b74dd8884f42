"""/changes/ and its Atom feed; /api/changes/ (catalog.changes.api) is their JSON twin: one set of data
(catalog.changes.queries), three renderings."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.shortcuts import render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join

from catalog.changes import queries as changes
from catalog.changes.api import CHANGES_PARAMETERS
from catalog.platform.parameters import declare, reads_parameters


@reads_parameters(*CHANGES_PARAMETERS)
def changes_page(request):
    """/changes/: what each import added, changed and retired, newest first, paginated by run."""
    source = request.GET.get("source") or None
    runs, page, single = changes.changes_page_data(request.GET.get("run"), request.GET.get("page"), source)
    return render(
        request,
        "changes/changes.html",
        {
            "runs": runs,
            "page": page,
            "single_run": single,
            "source": source,
            "per_list": changes.RULES_PER_LIST,
        },
    )


class ChangesFeed(Feed):
    """/changes/feed/: one Atom entry per import run that changed rules (`?source=NAME`: of that source)."""

    query_parameters = declare(["source"])  # catalog.platform.parameters: the page cache keys on it
    feed_type = Atom1Feed
    subtitle = "Rules added, changed and retired by each import."
    author_name = "Sigma rule catalog"

    def title(self, request):
        source = request.GET.get("source")
        return f"Sigma rule catalog: changes of {source}" if source else "Sigma rule catalog: changes"

    def link(self, request):
        source = request.GET.get("source")
        return reverse("changes:list") + (f"?{urlencode({'source': source})}" if source else "")

    def get_object(self, request, *args, **kwargs):
        return request  # items() needs it for absolute rule links inside the entries

    def items(self, request):
        runs = changes.resolve_runs(changes.changed_runs(request.GET.get("source") or None)[: changes.FEED_RUNS])
        for item in runs:
            for change in item.lists:
                for link in change.rules:
                    link.url = request.build_absolute_uri(link.url) if link.url else None
        return runs

    def item_title(self, item: changes.RunChanges):
        run = item.run
        counts = ", ".join(f"{c.count} {c.label.lower()}" for c in item.lists if c.count)
        sources = ", ".join(run.sources) or "rules"
        return f"Import of {sources} on {run.started_at:%Y-%m-%d %H:%M}: {counts or 'no visible changes'}"

    def item_description(self, item: changes.RunChanges):
        parts = []
        if item.commit:
            parts.append(format_html("<p>Commit {}</p>", _commit_html(item.commit)))
        if item.commits:
            rows = format_html_join(
                "", "<li>{}: {} ({})</li>", ((_commit_html(c), c.subject, c.author) for c in item.commits)
            )
            parts.append(format_html("<h3>Commits ({})</h3><ul>{}</ul>", len(item.commits), rows))
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

    def item_link(self, item: changes.RunChanges):
        return f"{reverse('changes:list')}?run={item.run.pk}"

    def item_pubdate(self, item: changes.RunChanges):
        return item.run.started_at

    def item_updateddate(self, item: changes.RunChanges):
        return item.run.finished_at or item.run.started_at


def _commit_html(commit: changes.Commit):
    if commit.url:
        return format_html('<a href="{}"><code>{}</code></a>', commit.url, commit.short)
    return format_html("<code>{}</code>", commit.short)
