"""/match/ and /api/match/: paste a logged event, see the rules it triggers."""

import json

from django import forms
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from catalog.matching import matching_rules
from catalog.models import Rule
from catalog.sigma.evaluate import flatten_event, load_events

MAX_EVENTS = 100


class EventForm(forms.Form):
    event = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        max_length=2_000_000,
        help_text="One JSON event, a list of events, or several objects one after another "
        "(a Windows event rendered from EVTX, or any flat JSON object).",
    )

    def clean_event(self):
        return parse_events(self.cleaned_data["event"])


def parse_events(text: str) -> list[dict]:
    try:
        events = load_events(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    if not events:
        raise forms.ValidationError("No JSON object found.")
    if len(events) > MAX_EVENTS:
        raise forms.ValidationError(f"At most {MAX_EVENTS} events at a time ({len(events)} given).")
    return events


def evaluate(events: list[dict], for_listing: bool = False) -> list[dict]:
    results = []
    for event in events:
        flat = flatten_event(event)
        rules = matching_rules(flat)
        if for_listing and rules:  # full rows for the rule table, in one query (plus techniques)
            rules = list(Rule.objects.public().for_listing().filter(pk__in=[r.pk for r in rules]).order_by("title"))
        results.append({"fields": len(flat), "rules": rules})
    return results


@require_http_methods(["GET", "POST"])
def match_page(request):
    form = EventForm(request.POST or None)
    valid = request.method == "POST" and form.is_valid()
    results = evaluate(form.cleaned_data["event"], for_listing=True) if valid else None
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render(request, "catalog/match.html", {"form": form, "results": results}, status=status)


@extend_schema(
    request={"application/json": OpenApiTypes.OBJECT},
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    description="Body: one event (JSON object), a list of events, or several objects one after another. "
    "Answer: {events: [{fields, rules: [{id, title, level, url}]}]}.",
)
@api_view(["POST"])
def match_api(request):
    """POST a JSON event (or a list of events); get the rules each one triggers."""
    text = request.body.decode("utf-8", errors="replace")
    try:
        events = parse_events(text)
    except forms.ValidationError as exc:
        return Response({"error": exc.messages[0]}, status=400)
    return Response(
        {
            "events": [
                {
                    "fields": result["fields"],
                    "rules": [
                        {
                            "id": str(rule.uuid),
                            "title": rule.title,
                            "level": rule.effective_level,
                            "url": request.build_absolute_uri(reverse("rule-detail", args=[rule.uuid])),
                        }
                        for rule in result["rules"]
                    ],
                }
                for result in evaluate(events)
            ]
        }
    )
