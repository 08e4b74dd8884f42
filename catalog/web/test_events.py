"""/rules/<id>/test-events/ and its API twin: the logged events that test a rule, each explained."""

from django.shortcuts import render
from django.urls import reverse
from rest_framework.decorators import api_view
from rest_framework.response import Response

from catalog.queries import test_events as queries


def test_events_page(request, rule_uuid):
    rule, files = queries.rule_test_events(rule_uuid)
    total = sum(f["event_count"] for f in files)
    return render(request, "catalog/match/test_events.html", {"rule": rule, "files": files, "total": total})


@api_view(["GET"])
def test_events_api(request, rule_uuid):
    rule, files = queries.rule_test_events(rule_uuid)
    return Response(
        {
            "rule": {
                "id": str(rule.uuid),
                "title": rule.title,
                "url": request.build_absolute_uri(reverse("rule-detail", args=[rule.uuid])),
            },
            "event_count": sum(f["event_count"] for f in files),
            "files": files,
        }
    )
