"""/preview/: paste a Sigma rule and see it as its rule page would show it, before it is imported.

For rule authors before they open a pull request: the same parsing as the importer (catalog.core/sigma,
with its limits and quirk repairs), then the sections of the rule page it will have, built and rendered
by the same code (catalog.importing.preview_sections): stages, the indicators it looks for and those it
excludes with the catalog's counts, similar rules, related rules, ATT&CK and event coverage; the queries
of every default target, and the parse warnings and errors. Nothing is saved.

Anyone may post, so the form is bounded like POST /api/convert/: CSRF, the body length checked
before it is read, the importer's size limit on the text, the `convert` rate limit per client, and
one time and memory budget for all its conversions (catalog.conversion.budget).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from catalog.browse.queries.indicators import COMMON_INDICATOR
from catalog.conversion.budget import request_budget
from catalog.conversion.converter import choose, convert
from catalog.conversion.layout import query_lines
from catalog.conversion.sources import PASTED, read_rules, text_problem
from catalog.conversion.stored import limits
from catalog.conversion.targets import DEFAULT_TARGETS, registry
from catalog.core.sigma.parsing import parse_file
from catalog.core.sigma.problems import Problem, RuleFileError
from catalog.importing.preview_sections import SIMILAR_FOR, preview_rules
from catalog.platform.throttling import ConvertRateThrottle, refused_page, throttle_wait


class PreviewForm(forms.Form):
    yaml = forms.CharField(
        label="Sigma rule (YAML)",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "autocomplete": "off"}),
        help_text="One rule, or several documents (a correlation with its rules). Nothing is saved.",
    )

    def clean_yaml(self):
        text = self.cleaned_data["yaml"]
        problem, _ = text_problem(text, settings.CATALOG_MAX_FILE_BYTES)
        if problem:
            raise forms.ValidationError(problem)
        return text


def conversions(text: str) -> list[dict]:
    """The pasted rules converted for every default target (fresh rule objects each: pipelines modify them),
    all under one request budget, each with its display lines (catalog.conversion.layout)."""
    reg = registry()
    result = []
    with request_budget():
        for target_id in DEFAULT_TARGETS:
            if target_id in reg.targets:
                rules = read_rules(text, limits()).rules
                conversion = convert(rules, choose(target_id))
                lines = query_lines(conversion.query) if conversion.query is not None else []
                box_id = f"query-text-{len(result) + 1}"
                result.append(
                    {"label": reg.targets[target_id].label, "conversion": conversion, "lines": lines, "box_id": box_id}
                )
    return result


def preview_wait(request) -> int | None:
    """The /preview/ form's wait, on the counter POST /api/convert/ uses."""
    return throttle_wait(ConvertRateThrottle, request)


def length_problem(request) -> str:
    """The declared body length against the limit (form encoding at most triples the text), before reading."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "Invalid Content-Length."
    limit = settings.CATALOG_MAX_FILE_BYTES
    return f"Request body of {length} bytes (the rule may have at most {limit})." if length > limit * 3 + 4096 else ""


@require_http_methods(["GET", "POST"])
def preview_page(request):
    context = {
        "form": PreviewForm(),
        "api_url": reverse("conversion:api-convert"),
        "limit": settings.CATALOG_MAX_FILE_BYTES,
        "common": COMMON_INDICATOR,
        "similar_for": SIMILAR_FOR,
    }
    if request.method != "POST":
        return render(request, "importing/preview.html", context)
    if (wait := preview_wait(request)) is not None:
        return refused_page(request, "importing/preview.html", context, wait, "previews")
    refusal = length_problem(request)
    if refusal:
        context["refusal"] = refusal
        return render(request, "importing/preview.html", context, status=413)
    form = context["form"] = PreviewForm(request.POST)
    if not form.is_valid():
        return render(request, "importing/preview.html", context, status=400)
    text = form.cleaned_data["yaml"]
    try:
        parsed, problems = parse_file(text.encode("utf-8"), PASTED, limits())
    except RuleFileError as exc:
        parsed, problems = [], [Problem(PASTED, exc.line, exc.message)]
    context.update(
        rules=preview_rules(parsed),
        problems=problems,
        conversions=conversions(text) if parsed else [],
        submitted=True,
    )
    return render(request, "importing/preview.html", context, status=200 if parsed else 400)
