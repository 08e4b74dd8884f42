"""/rules/<id>/test-events/ and its API twin: the logged events that test a rule, each explained."""

from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from catalog.matching import rule_events as queries
from catalog.platform.parameters import reads_parameters


@reads_parameters()
def test_events_page(request, rule_uuid):
    rule, files = queries.rule_test_events(rule_uuid)
    total = sum(f["event_count"] for f in files)
    return render(request, "matching/test_events.html", {"rule": rule, "files": files, "total": total})


@reads_parameters("format")  # DRF's renderer choice
@extend_schema(responses=OpenApiTypes.OBJECT, summary="A rule's logged test events, each with its explanation")
@api_view(["GET"])
def test_events_api(request, rule_uuid):
    rule, files = queries.rule_test_events(rule_uuid)
    return Response(
        {
            "rule": {
                "id": str(rule.uuid),
                "title": rule.title,
                "url": request.build_absolute_uri(reverse("browse:rule-detail", args=[rule.uuid])),
            },
            "event_count": sum(f["event_count"] for f in files),
            "files": files,
        }
    )
