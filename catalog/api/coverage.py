"""/api/coverage/: a telemetry profile's coverage as JSON, the twin of /coverage/ (same query function).

GET  /api/coverage/?events=sysmon:1,security:4688&logsources=linux::auditd[&rules=0]
POST /api/coverage/  {"events": [...], "logsources": [...], "sysmon_config": "<Sysmon>...</Sysmon>"}

Answers the rule counts of the three classes, the rule ids of each (`rules=0` leaves them out),
with the events each runnable rule runs through and the fields a partial one misses, the covered
and uncovered techniques, and the ranked "add this next" list. The POST takes JSON only (a form
post, which any page can make a browser send, gets a 415) and changes nothing. POSTs are counted
against the `coverage` rate (catalog.api.throttling.CoverageRateThrottle: each may parse a Sysmon
configuration and computes a coverage no cache keeps); GETs are cached pages, as /coverage/ is.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from catalog.api.throttling import CoverageRateThrottle, throttle_wait
from catalog.models import Rule
from catalog.parameters import reads_parameters
from catalog.telemetry import coverage
from catalog.telemetry.profile import ProfileError, from_json, from_query

GET_PARAMS = {"events", "logsources", "rules"}


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
        "profile": {"events": profile.event_tokens, "logsources": profile.logsource_tokens},
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
