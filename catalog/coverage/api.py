"""/api/coverage/: a telemetry profile's coverage as JSON, the twin of /coverage/ (same query function).

GET  /api/coverage/?events=sysmon:1,security:4688&logsources=linux::auditd[&unfilled=sysmon:1:parentuser][&rules=0]
POST /api/coverage/  {"events": [...], "logsources": [...], "unfilled": [...], "sysmon_config": "<Sysmon>..."}

Answers the rule counts of the three classes, the rule ids of each (`rules=0` leaves them out),
with the events each runnable rule runs through and the fields a partial one misses, the covered
and uncovered techniques, and the ranked "add this next" list. The POST takes JSON only (a form
post, which any page can make a browser send, gets a 415) and changes nothing. POSTs are counted
against the `coverage` rate (catalog.platform.throttling.CoverageRateThrottle: each may parse a Sysmon
configuration and computes a coverage no cache keeps); GETs are cached pages, as /coverage/ is.
CoverageAPI (catalog.platform.json_views) documents both in the OpenAPI schema and hands them to coverage_api.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from catalog.coverage import runnable as coverage
from catalog.coverage.profile import ProfileError, from_json, from_query
from catalog.models import Rule
from catalog.platform.json_views import DjangoJsonView
from catalog.platform.parameters import declare, reads_parameters
from catalog.platform.throttling import CoverageRateThrottle, throttle_wait

GET_PARAMS = {"events", "logsources", "unfilled", "rules"}


def max_body() -> int:
    """The configuration (real ones are ASCII: one byte a character) and the other members."""
    return settings.CATALOG_MAX_SYSMON_CONFIG_CHARS + 100_000


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": {"profile": [message]}}, status=status)


@reads_parameters(*GET_PARAMS, refuses_others=True)  # a 400 for any other
@csrf_exempt  # JSON only (415 otherwise), and nothing is written: a cross-site post can learn nothing
@require_http_methods(["GET", "POST"])
def coverage_api(request):
    unknown = set(request.GET) - GET_PARAMS
    if unknown:
        return _error(f"Unknown parameter(s) {sorted(unknown)}; valid: {sorted(GET_PARAMS)}.")
    if request.method == "POST":
        wait = throttle_wait(CoverageRateThrottle, request)
        if wait is not None:
            response = _error(f"Too many coverage requests: try again in {wait} s.", 429)
            response["Retry-After"] = str(wait)
            return response
    try:
        profile = _posted(request) if request.method == "POST" else from_query(request.GET)
    except ProfileError as exc:
        return _error(str(exc), getattr(exc, "status", 400))
    result = coverage.profile_coverage(profile)
    return JsonResponse(coverage_document(result, with_rules=request.GET.get("rules") != "0"))


class BodyError(ProfileError):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _posted(request):
    if request.content_type not in ("application/json",):
        raise BodyError(f"Post the profile as application/json, not {request.content_type or 'no type'}.", 415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BodyError("Invalid Content-Length.", 400) from None
    if length > max_body():
        raise BodyError(f"Request body of {length} bytes (at most {max_body()}).", 413)
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError(f"The body is not JSON: {exc}.", 400) from None
    except RecursionError:  # "[[[[..." past Python's recursion limit: the decoder gives up (a 500 before)
        raise BodyError("The body is JSON nested too deeply (a profile is one object of lists).", 400) from None
    return from_json(data)


def coverage_document(result: coverage.Coverage, with_rules: bool = True) -> dict:
    profile = result.profile
    document = {
        "profile": {
            "events": profile.event_tokens,
            "logsources": profile.logsource_tokens,
            "unfilled": profile.unfilled_tokens,
        },
        "counts": result.counts,
        "techniques": {
            "covered": [{"id": t, "rules": n} for t, n in sorted(result.runnable.items()) if n],
            "uncovered": [
                {"id": t, "rules_in_catalog": result.total[t], "would_cover": result.suggestions.get(t, [])}
                for t in sorted(result.blind)
            ],
        },
        "add_next": result.next_steps,
    }
    if with_rules:
        document["rules"] = _rule_ids(result)
    return document


def _rule_ids(result: coverage.Coverage) -> dict[str, list]:
    by_pk = {s.pk: s for s in result.signatures}
    rules = {name: [] for name in coverage.CLASSES}
    for uuid, signature_id in (
        Rule.objects.live().filter(need__isnull=False).order_by("uuid").values_list("uuid", "need__signature_id")
    ):
        signature = by_pk.get(signature_id)
        if signature is None:
            continue
        if signature.status == coverage.NONE:
            rules[coverage.NONE].append(str(uuid))
            continue
        entry = {"id": str(uuid), "via": [way.token for way in signature.via]}
        if signature.status == coverage.PARTIAL:
            entry["missing"] = list(signature.missing)
        if signature.gaps:
            entry["missing_on"] = {token: list(missing) for token, missing in signature.gaps.items()}
        rules[signature.status].append(entry)
    return rules


# -- the answer's shape, for the OpenAPI schema only ---------------------------------------------------
class CoverageProfileSerializer(serializers.Serializer):
    events = serializers.ListField(child=serializers.CharField(), help_text="provider:event_id tokens, e.g. sysmon:1")
    logsources = serializers.ListField(
        child=serializers.CharField(), help_text="product:category:service tokens, e.g. linux::auditd"
    )
    unfilled = serializers.ListField(
        child=serializers.CharField(), help_text="provider:event_id:field never filled, e.g. sysmon:1:parentuser"
    )


class CoverageCountsSerializer(serializers.Serializer):
    runnable = serializers.IntegerField()
    partial = serializers.IntegerField()
    not_runnable = serializers.IntegerField()


class CoveredTechniqueSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="ATT&CK technique id")
    rules = serializers.IntegerField(help_text="runnable rules")


class CoverageStepSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="an event (provider:id) or logsource=product:category:service")
    label = serializers.CharField()
    rules = serializers.IntegerField(help_text="rules it would make runnable")


class NextStepSerializer(CoverageStepSerializer):
    techniques = serializers.ListField(child=serializers.CharField(), help_text="uncovered techniques it would cover")


class UncoveredTechniqueSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="ATT&CK technique id")
    rules_in_catalog = serializers.IntegerField()
    would_cover = CoverageStepSerializer(many=True)


class CoverageTechniquesSerializer(serializers.Serializer):
    covered = CoveredTechniqueSerializer(many=True)
    uncovered = UncoveredTechniqueSerializer(many=True)


class CoverageRuleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    via = serializers.ListField(child=serializers.CharField(), help_text="the collected events it runs through")
    missing = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="partial rules: fields the events lack"
    )
    missing_on = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False, help_text="fields missing per event"
    )


class CoverageRulesSerializer(serializers.Serializer):
    runnable = CoverageRuleSerializer(many=True)
    partial = CoverageRuleSerializer(many=True)
    not_runnable = serializers.ListField(child=serializers.UUIDField())


class CoverageSerializer(serializers.Serializer):
    profile = CoverageProfileSerializer()
    counts = CoverageCountsSerializer(help_text="live rules per class")
    techniques = CoverageTechniquesSerializer()
    add_next = NextStepSerializer(many=True, help_text='"add this next", best first')
    rules = CoverageRulesSerializer(required=False, help_text="left out with rules=0")


class PostedProfileSerializer(serializers.Serializer):
    events = serializers.ListField(child=serializers.CharField(), required=False, help_text="e.g. sysmon:1")
    logsources = serializers.ListField(child=serializers.CharField(), required=False, help_text="e.g. linux::auditd")
    unfilled = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="fields never filled, e.g. sysmon:1:parentuser"
    )
    sysmon_config = serializers.CharField(
        required=False, help_text="a Sysmon configuration's XML: the events it logs are added to `events`"
    )


PROFILE_ERRORS = inline_serializer("CoverageErrors", {"profile": serializers.ListField(child=serializers.CharField())})
ERROR = inline_serializer("CoverageError", {"errors": PROFILE_ERRORS})
COMMON = {
    200: CoverageSerializer,
    400: OpenApiResponse(ERROR, description="an invalid profile or an unknown parameter, with what is wrong"),
}


class CoverageAPI(DjangoJsonView):
    query_parameters = declare(GET_PARAMS, refuses_others=True)  # a 400 for any other

    @extend_schema(
        operation_id="coverage",
        summary="A telemetry profile's rule coverage",
        parameters=[
            OpenApiParameter("events", str, description="collected events, comma-separated: sysmon:1,security:4688"),
            OpenApiParameter("logsources", str, description="collected log sources, comma-separated: linux::auditd"),
            OpenApiParameter(
                "unfilled", str, description="fields the events never fill, comma-separated: sysmon:1:parentuser"
            ),
            OpenApiParameter("rules", str, enum=["0", "1"], description="0: leave the rule ids out"),
        ],
        responses=COMMON,
    )
    def get(self, request):
        return coverage_api(request._request)

    @extend_schema(
        operation_id="coverage_posted",
        summary="The coverage of a posted telemetry profile (changes nothing)",
        description="The profile as a JSON object (a form post is a 415); rate limited per client (scope `coverage`).",
        parameters=[OpenApiParameter("rules", str, enum=["0", "1"], description="0: leave the rule ids out")],
        request={"application/json": PostedProfileSerializer},
        responses={
            **COMMON,
            413: OpenApiResponse(ERROR, description="the body is too large"),
            415: OpenApiResponse(ERROR, description="not application/json"),
            429: OpenApiResponse(ERROR, description="too many coverage requests: see Retry-After"),
        },
    )
    def post(self, request):
        return coverage_api(request._request)
