"""/api/changes/: the JSON twin of /changes/ (catalog.changes.views), from the same query function
(catalog.changes.queries.changes_page_data), the same pages and the same `run` parameter.

A page of import runs that changed rules, newest first; `?run=N` is that run alone, its lists in full.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

from catalog.changes import queries as changes
from catalog.platform.json_views import DjangoJsonView
from catalog.platform.parameters import declare

CHANGES_PARAMETERS = ("run", "page", "source", "format")


def _link_json(request, link: changes.RuleLink) -> dict:
    return {
        "id": link.id,
        "title": link.title or None,
        "level": link.level or None,
        "source": link.source or None,
        "url": request.build_absolute_uri(link.url) if link.url else None,
    }


def run_json(request, item: changes.RunChanges) -> dict:
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
        "url": request.build_absolute_uri(f"{reverse('changes:list')}?run={run.pk}"),
        "commit": run.commit or None,
        "previous_commit": run.previous_commit or None,
        "commits": [
            {"sha": c.sha, "subject": c.subject, "author": c.author, "date": c.date, "url": c.url or None}
            for c in item.commits
        ],
    }
    for change in item.lists:
        data[change.kind] = {
            "count": change.count,
            "rules": [_link_json(request, link) for link in change.rules],
            "more": change.more,
        }
    return data


def changes_json(request):
    """The answer, from the Django request: a page of runs, or one run with `run`."""
    unknown = sorted(set(request.GET) - set(CHANGES_PARAMETERS))
    if unknown:  # like the DRF list endpoints (catalog.platform.api_strict): a misspelled parameter is an error
        return JsonResponse({"unknown parameters": unknown, "valid parameters": sorted(CHANGES_PARAMETERS)}, status=400)
    runs, page, single = changes.changes_page_data(
        request.GET.get("run"), request.GET.get("page"), request.GET.get("source")
    )
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


# -- the answers' shapes, for the OpenAPI schema only -------------------------------------------------
class ChangedRuleSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the rule's id")
    title = serializers.CharField(allow_null=True, help_text="null when the rule is no longer in the catalog")
    level = serializers.CharField(allow_null=True)
    source = serializers.CharField(allow_null=True)
    url = serializers.URLField(allow_null=True, help_text="the rule's page")


class ChangeListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="rules (visible ones) this run changed so")
    rules = ChangedRuleSerializer(many=True, help_text="the first of them on a listing page; all with `run`")
    more = serializers.IntegerField(help_text="count minus the rules listed")


class CommitSerializer(serializers.Serializer):
    sha = serializers.CharField()
    subject = serializers.CharField()
    author = serializers.CharField()
    date = serializers.CharField(help_text="the commit date, ISO 8601")
    url = serializers.URLField(allow_null=True, help_text="the commit's page on its forge, when known")


class ImportRunChangesSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    sources = serializers.ListField(child=serializers.CharField())
    files_read = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    warnings = serializers.IntegerField()
    errors = serializers.IntegerField()
    url = serializers.URLField(help_text="the run on /changes/")
    commit = serializers.CharField(allow_null=True, help_text="a git source's sync: the commit imported")
    previous_commit = serializers.CharField(allow_null=True, help_text="the commit the sync before imported")
    commits = CommitSerializer(
        many=True, help_text="the commits since then that touched the imported folders, newest first (at most 50)"
    )
    created = ChangeListSerializer(help_text="rules added")
    updated = ChangeListSerializer(help_text="rules changed")
    retired = ChangeListSerializer(help_text="rules retired")


class ChangesPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="import runs that changed rules")
    page = serializers.IntegerField()
    num_pages = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ImportRunChangesSerializer(many=True)


UNKNOWN_PARAMETERS = inline_serializer(
    "UnknownParameters",
    {
        "unknown parameters": serializers.ListField(child=serializers.CharField()),
        "valid parameters": serializers.ListField(child=serializers.CharField()),
    },
)


class ChangesAPI(DjangoJsonView):
    query_parameters = declare(CHANGES_PARAMETERS, refuses_others=True)  # a 400 for any other

    @extend_schema(
        operation_id="changes",
        summary="What each import added, changed and retired",
        description="Import runs that changed rules, newest first, 10 a page; `run` shows one run with its lists in "
        "full. Hidden rules are left out (counts included). Any other parameter is a 400 that lists the valid ones.",
        parameters=[
            OpenApiParameter("run", OpenApiTypes.INT, description="one import run's id: that run alone (404: none)"),
            OpenApiParameter("page", OpenApiTypes.INT, description="page of runs (a bad number: the nearest page)"),
            OpenApiParameter("source", OpenApiTypes.STR, description="only the imports of this source"),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="ChangesAnswer",
                serializers=[ChangesPageSerializer, ImportRunChangesSerializer],
                resource_type_field_name=None,
            ),
            400: OpenApiResponse(UNKNOWN_PARAMETERS, description="an unknown query parameter"),
            404: OpenApiResponse(description="no such import run (`run`)"),
        },
    )
    def get(self, request):
        return changes_json(request._request)
