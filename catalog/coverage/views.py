"""/coverage/ pages: choose what you collect, see what it runs, where it is blind, and what to add next.

The page and /api/coverage/ (catalog.coverage.api) read the same `coverage.profile_coverage()`.
The profile lives in the URL (catalog.coverage.profile), so every view here can be bookmarked.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from catalog.browse.queries import rules as rule_queries
from catalog.core.taxonomy import provider_name
from catalog.coverage import choices, gaps, matrix, presets
from catalog.coverage import runnable as coverage
from catalog.coverage.profile import PROFILE_PARAMETERS, Profile, ProfileError, event_token, from_query
from catalog.exports import files as coverage_exports
from catalog.models.telemetry import RuleNeed
from catalog.platform.paging import paginate
from catalog.platform.parameters import reads_parameters

NEXT_SHOWN = 25  # steps ranked on the page ...
NEXT_OPEN = 8  # ... of which these are shown before a "more" disclosure
BLIND_OPEN = 12  # blind techniques on the profile's platforms shown before a "more" disclosure
ROWS_OPEN = 10  # rows of the runnable and partial tables shown before a "more" disclosure


def profile_query(profile) -> str:
    return profile.query()


@reads_parameters(*PROFILE_PARAMETERS, "uncovered")
def coverage_page(request):
    try:
        profile = from_query(request.GET)
    except ProfileError as exc:
        context = {"error": str(exc), **_form(None, coverage.profile_coverage(Profile()).signatures), **_caps()}
        return render(request, "coverage/coverage.html", context, status=400)
    result = coverage.profile_coverage(profile)
    query = profile_query(profile)
    context = {"profile": profile, "query": query, "api_url": reverse("coverage:api") + "?" + query, **_caps()}
    context.update(_form(profile, result.signatures))
    if profile:
        uncovered_only = request.GET.get("uncovered") == "1"
        steps = result.next_steps[:NEXT_SHOWN]
        for step in steps:
            step["url"] = reverse("coverage:page") + "?" + profile.adding(step["token"]).query()
            step["name"] = _step_name(step["token"], step["label"])
        context.update(
            result=result,
            total_rules=sum(result.counts.values()),
            collected=_collected(profile),
            unfilled=_unfilled(profile),
            named=presets.named(profile),
            event_gaps=gaps.event_gaps(result),
            runnable_table=_table(result, coverage.RUNNABLE),
            partial_table=_table(result, coverage.PARTIAL),
            steps=steps[:NEXT_OPEN],
            more_steps=steps[NEXT_OPEN:],
            columns=matrix.coverage_matrix(result, uncovered_only),
            blind=matrix.blind_spots(result, BLIND_OPEN),
            uncovered_only=uncovered_only,
        )
    return render(request, "coverage/coverage.html", context)


def _caps() -> dict:
    """The sample upload's caps, which its form states (catalog.coverage.sample_views)."""
    return {
        "max_events": settings.CATALOG_COVERAGE_SAMPLE_EVENTS,
        "max_bytes": settings.CATALOG_COVERAGE_SAMPLE_MAX_BYTES,
    }


def _table(result, status: str) -> dict:
    """One of the two tables: its rows (gaps.groups), the first ROWS_OPEN shown, the others behind a disclosure."""
    rows = gaps.groups(result, status)
    return {"rows": rows[:ROWS_OPEN], "more": rows[ROWS_OPEN:]}


def _step_name(token: str, label: str) -> str:
    """How the "biggest blind spot" sentence names a step: "Sysmon 1 (Process creation)", "the log source
    linux::auditd"."""
    if token.startswith("logsource="):
        return "the log source " + token.removeprefix("logsource=")
    provider, _, event = token.rpartition(":")
    title = label.removeprefix(token).strip()
    name = f"{provider_name(provider)} {'(every event)' if event == '*' else event}"
    return f"{name} ({title})" if title and event != "*" else name


def _collected(profile) -> list[tuple[str, list[str]]]:
    """The profile's events by provider, then its log sources: [("Sysmon", ["1", "3"]), ("log sources", [...])]."""
    rows = {}
    for token in profile.event_tokens:
        provider, _, event = token.rpartition(":")
        rows.setdefault(provider_name(provider), []).append("every event" if event == "*" else event)
    if profile.logsource_tokens:
        rows["log sources"] = profile.logsource_tokens
    return list(rows.items())


def _unfilled(profile) -> list[tuple[str, list[str]]]:
    """The fields each collected event never fills (a profile read from a sample): [("sysmon:1", ["parentuser"])]."""
    rows: dict[str, list[str]] = {}
    for provider, event_id, field in sorted(profile.unfilled):
        rows.setdefault(event_token(provider, event_id), []).append(field)
    return list(rows.items())


def _form(profile, signatures) -> dict:
    return choices.form_choices(profile, signatures)


def _runnable_rules(request, default_class=coverage.RUNNABLE):
    """The live rules of one class (`class=`) for the profile in the URL, and the coverage."""
    profile = from_query(request.GET)
    wanted = request.GET.get("class", default_class)
    if wanted not in coverage.CLASSES:
        raise ProfileError(f"class={wanted!r}: use one of {', '.join(coverage.CLASSES)}.")
    result = coverage.profile_coverage(profile)
    return profile, wanted, result, coverage.class_rules(result, wanted)


@reads_parameters(*PROFILE_PARAMETERS, "class", "page")
def coverage_rules(request):
    """/coverage/rules/?class=partial&events=...: the rules of one class, each with its way in and missing fields."""
    try:
        profile, wanted, result, rules = _runnable_rules(request)
    except ProfileError as exc:
        return render(request, "coverage/coverage_rules.html", {"error": str(exc)}, status=400)
    page = paginate(request, rule_queries.listing(rules.order_by("sort_title", "pk")), rule_queries.PER_PAGE)
    by_pk = {s.pk: s for s in result.signatures}
    needs = dict(RuleNeed.objects.filter(rule__in=page.object_list).values_list("rule_id", "signature_id"))
    rows = [(rule, by_pk.get(needs.get(rule.pk))) for rule in page.object_list]
    context = {
        "profile": profile,
        "query": profile_query(profile),
        "wanted": wanted,
        "classes": coverage.CLASSES,
        "page": page,
        "rows": rows,
        "counts": result.counts,
    }
    return render(request, "coverage/coverage_rules.html", context)


@reads_parameters(*PROFILE_PARAMETERS, "class")
def coverage_layer(request):
    """The profile's runnable rules as an ATT&CK Navigator layer (same format as /attack/navigator.json)."""
    try:
        profile, wanted, _, rules = _runnable_rules(request)
    except ProfileError as exc:
        return JsonResponse({"errors": {"profile": [str(exc)]}}, status=400)
    description = f"{wanted.replace('_', ' ')} rules for the telemetry profile {profile_query(profile)}"
    source = reverse("coverage:page") + "?" + profile_query(profile)
    return coverage_exports.layer_response(
        request, rules, "Sigma rule catalog: telemetry coverage", description, source, "sigma-coverage-layer.json"
    )


@reads_parameters(*PROFILE_PARAMETERS, "class")
def coverage_csv(request):
    """The profile's runnable rules (or `class=`) as the rule list's CSV."""
    try:
        _, _, _, rules = _runnable_rules(request)
    except ProfileError as exc:
        return JsonResponse({"errors": {"profile": [str(exc)]}}, status=400)
    return coverage_exports.csv_response(request, rules, "sigma-coverage.csv")
