"""/match/ and /api/match/: paste a logged event, see the rules it triggers.

Anyone may post here and each event is checked against thousands of rules, so every request is
bounded (settings CATALOG_MATCH_*): the body size from Content-Length before anything is read,
then the JSON nesting depth before it is decoded, then the number of events, fields per event and
characters per value (catalog.core.sigma.logged_events), and finally the evaluation time: past the
budget the answer is partial and says so (`complete: false`), never a timeout. The explanations in
one answer are bounded in number and bytes (catalog.matching.budget; `truncated: true` and
counts say what was left out). Posts are rate
limited per client (catalog.platform.throttling), and the API takes JSON only: a form or text/plain
post, which any web page can make a visitor's browser send, gets a 415.
"""

import json

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, parser_classes, throttle_classes
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from catalog.core.sigma import shapes
from catalog.core.sigma.logged_events import EventInputError, EventLimits, read_shaped_events
from catalog.matching.budget import ExplanationBudget
from catalog.matching.engine import LogSource, match_events, picked, uncompilable_rules
from catalog.matching.explaining import attach_explanations, chosen_rule
from catalog.models import Rule
from catalog.operations.metrics import count_match_events
from catalog.platform.throttling import AnonRateThrottle, MatchRateThrottle, match_wait, refused_page

JSON_TYPES = ("application/json",)


class InputRejected(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def limits() -> EventLimits:
    return EventLimits(
        max_events=settings.CATALOG_MATCH_MAX_EVENTS,
        max_fields=settings.CATALOG_MATCH_MAX_FIELDS,
        max_value_chars=settings.CATALOG_MATCH_MAX_VALUE_CHARS,
        max_depth=settings.CATALOG_MATCH_MAX_DEPTH,
    )


def check_length(request, factor: int = 1) -> None:
    """Refuse a body over the limit from its declared length, before any of it is read.
    `factor`: how much bigger the encoded body may be than the text (form encoding)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InputRejected("Invalid Content-Length.") from None
    limit = settings.CATALOG_MATCH_MAX_BYTES
    if length > limit * factor:
        raise InputRejected(f"Request body of {length} bytes (at most {limit}).", status=413)


class BodyTooLarge(APIException):
    status_code = 413
    default_detail = "Request body too large."


class EventsTextParser(BaseParser):
    """application/json read as text, at most CATALOG_MATCH_MAX_BYTES of it: the events are parsed
    by read_shaped_events, within its limits, not by DRF's JSONParser (which has none). DRF calls it
    whenever the body is first needed, also for the CSRF check of a logged-in user."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.CATALOG_MATCH_MAX_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise BodyTooLarge(f"Request body over {limit} bytes.")
        return raw.decode("utf-8", errors="replace")


def parse_events(text: str) -> list[tuple[dict, str]]:
    """The flattened events of a posted text, each with its shape (catalog.core.sigma.shapes: ECS, Splunk,
    Sentinel and Defender XDR events get the Windows field names), or InputRejected with what is wrong."""
    if len(text) > settings.CATALOG_MATCH_MAX_BYTES:
        raise InputRejected(f"{len(text)} characters of events (at most {settings.CATALOG_MATCH_MAX_BYTES}).", 413)
    try:
        return read_shaped_events(text, limits())
    except json.JSONDecodeError as exc:
        raise InputRejected(f"Not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    except EventInputError as exc:
        raise InputRejected(str(exc)) from None


class EventForm(forms.Form):
    event = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text="One JSON event, a list of events, or several objects one after another: a Windows event "
        "rendered from EVTX, from Winlogbeat / Elastic Agent (ECS), Splunk, Sentinel (SecurityEvent) or "
        "Defender XDR (Device*Events), or any flat JSON object.",
    )

    why_not = forms.UUIDField(
        required=False,
        label="Why not? (optional rule id)",
        help_text="A rule's id: its explanation on each event is shown, whether it fired or not.",
    )

    # The log source of the events (issue 13), optional: inferred from each event's fields when left empty.
    product = forms.CharField(required=False, max_length=64, help_text="e.g. windows, linux, aws")
    category = forms.CharField(required=False, max_length=64, help_text="e.g. process_creation")
    service = forms.CharField(required=False, max_length=64, help_text="e.g. security, cloudtrail")

    def source(self) -> LogSource | None:
        return picked(*(self.cleaned_data.get(name, "") for name in ("product", "category", "service")))

    def clean_event(self):
        try:
            return parse_events(self.cleaned_data["event"])
        except InputRejected as exc:
            raise forms.ValidationError(exc.message) from None


def evaluate(
    shaped: list[tuple[dict, str]],
    for_listing: bool = False,
    why_not=None,
    source: LogSource | None = None,
    explained: ExplanationBudget | None = None,
) -> list[dict]:
    """Match results per (flattened event, shape), each with its shape and the explanations of its fired
    rules (and of the chosen `why_not` rule, a Rule or None): catalog.matching.explaining, within
    `explained` (from settings when None). `source`: the log source picked for the events (None: inferred
    per event, catalog.matching.logsources)."""
    events, results = [flat for flat, _ in shaped], []
    budget, regex_budget = settings.CATALOG_MATCH_BUDGET_SECONDS, settings.CATALOG_MATCH_REGEX_SECONDS
    matched = match_events(events, budget, source=source, regex_seconds=regex_budget)
    for result, (_, shape) in zip(matched, shaped, strict=True):
        rules = result.rules
        if for_listing and rules:  # full rows for the rule table, in one query (plus techniques)
            rules = list(
                Rule.objects.public().filter(pk__in=[r.pk for r in rules]).for_listing().order_by("sort_title")
            )
        results.append(
            {
                "fields": result.fields,
                "shape": shape,
                "shape_label": shapes.LABELS[shape],
                "rules": rules,
                "complete": result.complete,
                "source": result.source,
                "cut_off": result.cut_off,
                "via": result.via,
            }
        )
    attach_explanations(events, results, why_not, explained)
    count_match_events(len(results), "request")
    return results


def source_from_query(params) -> LogSource | None:
    """The log source picked in the query string (?product=&category=&service=), or None."""
    return picked(*(params.get(name, "") for name in ("product", "category", "service")))


def budget_note(results: list[dict]) -> str:
    """'' when every event was fully evaluated, else which ones the time budget cut short."""
    cut = {pattern: None for result in results for pattern in result.get("cut_off", ())}
    partial = [
        str(number)
        for number, result in enumerate(results, start=1)
        if not result["complete"] and not result.get("cut_off")
    ]
    notes = []
    if partial:
        notes.append(
            f"The matching time budget ({settings.CATALOG_MATCH_BUDGET_SECONDS:g} s) ran out: "
            f"event(s) {', '.join(partial)} were not checked against every rule, so their results are partial."
        )
    if cut:
        notes.append(
            f"The backtracking-regex budget ({settings.CATALOG_MATCH_REGEX_SECONDS:g} s) ran out: "
            f"regex(es) {', '.join(repr(p[:200]) for p in cut)} were cut off, so the rules using them are undecided."
        )
    return " ".join(notes)


@require_http_methods(["GET", "POST"])
def match_page(request):
    context = {"form": EventForm(), "results": None, "unevaluable": uncompilable_rules()}
    if request.method != "POST":
        return render(request, "matching/match.html", context)
    if (wait := match_wait(request)) is not None:
        return refused_page(request, "matching/match.html", context, wait, "matches")
    try:
        check_length(request, factor=3)  # percent-encoding at most triples the text
    except InputRejected as exc:
        context["refusal"] = exc.message
        return render(request, "matching/match.html", context, status=exc.status)
    form = context["form"] = EventForm(request.POST)
    if not form.is_valid():
        return render(request, "matching/match.html", context, status=400)
    why_not = chosen_rule(form.cleaned_data["why_not"]) if form.cleaned_data.get("why_not") else None
    explained = ExplanationBudget()
    results = evaluate(
        form.cleaned_data["event"], for_listing=True, why_not=why_not, source=form.source(), explained=explained
    )
    context.update(
        results=results,
        budget_note=budget_note(results),
        explanations_note=explained.note(),
        why_not_missing=form.cleaned_data.get("why_not") and not why_not,
    )
    return render(request, "matching/match.html", context)


@extend_schema(
    request={"application/json": OpenApiTypes.OBJECT},
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 413: OpenApiTypes.OBJECT, 415: OpenApiTypes.OBJECT},
    description="Body (application/json): one event (JSON object), a list of events, or several objects one after "
    "another. Optional query parameters product, category, service: the events' log source (else inferred per "
    "event). Answer: {complete, events: [{fields, shape, complete, logsource: {product, category, service, how, "
    "reason}, cut_off, explanations_left_out, rules: [{id, title, level, url, explanation}], why_not?}], truncated, "
    "explanations, explanations_left_out, explanation_limits: {count, bytes}}; `shape`: how the event was read "
    "(windows-xml, ecs, splunk, sentinel-securityevent, defender-xdr, flat): fields of the non-Windows shapes get "
    "the Windows names rules use, from the pySigma pipelines' mappings. `truncated` is true when some "
    "explanations were left out (null) to keep the answer within CATALOG_MATCH_MAX_EXPLANATIONS and "
    "CATALOG_MATCH_MAX_EXPLANATION_BYTES; `complete` is false when the time budget "
    "ran out before every rule was checked, or a backtracking regex was cut off (listed in cut_off); the results "
    "found so far are given. `explanation`: the condition tree with each node's result, the blocks with each "
    "predicate's result, event value and matched character spans. `?why_not=<rule id>` adds that rule's "
    "explanation for every event.",
)
@api_view(["POST"])
@parser_classes([EventsTextParser])
@throttle_classes([AnonRateThrottle, MatchRateThrottle])
def match_api(request):
    """POST a JSON event (or a list of events); get the rules each one triggers."""
    if request.content_type.split(";")[0].strip().lower() not in JSON_TYPES:
        return Response({"error": "Send the events as application/json."}, status=415)
    try:
        check_length(request)
        events = parse_events(request.data if isinstance(request.data, str) else "")
    except InputRejected as exc:
        return Response({"error": exc.message}, status=exc.status)
    why_not = chosen_rule(request.query_params["why_not"]) if request.query_params.get("why_not") else None
    if request.query_params.get("why_not") and why_not is None:
        return Response({"error": "why_not: no live detection rule has this id."}, status=400)
    explained = ExplanationBudget()
    results = evaluate(events, why_not=why_not, source=source_from_query(request.query_params), explained=explained)
    answer = {
        "complete": all(result["complete"] for result in results),
        **explained.summary(),
        "events": [
            {
                "fields": result["fields"],
                "shape": result["shape"],
                "complete": result["complete"],
                "logsource": result["source"].as_dict(),
                "cut_off": result["cut_off"],
                "explanations_left_out": result["explanations_left_out"],
                "rules": [
                    {
                        "id": str(rule.uuid),
                        "title": rule.title,
                        "level": rule.effective_level,
                        "url": request.build_absolute_uri(reverse("browse:rule-detail", args=[rule.uuid])),
                        "explanation": result["explanations"].get(rule.pk),
                    }
                    for rule in result["rules"]
                ],
                **({"why_not": why_not_json(result["why_not"])} if why_not is not None else {}),
            }
            for result in results
        ],
    }
    if not answer["complete"]:
        answer["partial"] = budget_note(results)
    if explained.truncated:
        answer["truncated_note"] = explained.note()
    return Response(answer)


def why_not_json(why_not: dict) -> dict:
    rule = why_not["rule"]
    return {
        "id": str(rule.uuid),
        "title": rule.title,
        "explanation": why_not["explanation"],
        "explanation_left_out": why_not["left_out"],
    }
