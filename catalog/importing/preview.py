"""/preview/: paste a Sigma rule and see it as its rule page would show it, before it is imported.

For rule authors before they open a pull request: the same parsing as the importer (catalog.core/sigma,
with its limits and quirk repairs), then stages, predicates, the indicators with today's corpus
counts ("already looked for by 37 rules"), ATT&CK and event coverage, the queries of every default
target, and the parse warnings and errors. Nothing is saved: the only database reads are the
indicators' counts (one query).

Anyone may post, so the form is bounded like POST /api/convert/: CSRF, the body length checked
before it is read, the importer's size limit on the text, the `convert` rate limit per client, and
one time and memory budget for all its conversions (catalog.conversion.budget).
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from catalog.conversion.budget import request_budget
from catalog.conversion.converter import Conversion, choose, convert
from catalog.conversion.sources import PASTED, read_rules, text_problem
from catalog.conversion.stored import limits
from catalog.conversion.targets import DEFAULT_TARGETS, registry
from catalog.core.reference import attack
from catalog.core.sigma.model import IndicatorKey, ParsedRule
from catalog.core.sigma.parsing import parse_file
from catalog.core.sigma.problems import Problem, RuleFileError
from catalog.core.taxonomy.events import events_for
from catalog.importing.preparing import indicator_sha
from catalog.models import Indicator
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


@dataclass
class PreviewIndicator:
    key: IndicatorKey
    written: str
    pk: int | None  # the catalog's indicator, when some rule already carries it
    corpus_count: int  # live, public rules already carrying it (this rule not counted)


@dataclass
class PreviewRule:
    rule: ParsedRule
    attack_rows: list
    events: list
    indicator_rows: list  # (field, kind, [PreviewIndicator])
    warnings: list[tuple[int, str]]  # (line in the pasted text, message)


def preview_rules(parsed: list[ParsedRule]) -> list[PreviewRule]:
    """The rule-page view of parsed rules, with corpus counts read in one query."""
    keys = {
        indicator_sha(key): key
        for rule in parsed
        for stage in rule.stages
        for p in stage.predicates
        for key in p.indicators
    }
    known = (
        {row["key"]: row for row in Indicator.objects.filter(key__in=list(keys)).values("key", "pk", "corpus_count")}
        if keys
        else {}
    )
    result = []
    for rule in parsed:
        tags = attack.parse_tags(rule.tags)
        rows: dict[tuple[str, str], list[PreviewIndicator]] = {}
        seen = set()
        for stage in rule.stages:
            for predicate in stage.predicates:
                for key in predicate.indicators:
                    if key.identity in seen:
                        continue
                    seen.add(key.identity)
                    row = known.get(indicator_sha(key), {})
                    item = PreviewIndicator(key, key.display or key.value, row.get("pk"), row.get("corpus_count", 0))
                    rows.setdefault((key.field, key.kind), []).append(item)
        ordered = [(f, k, rows[(f, k)]) for f, k in sorted(rows, key=lambda fk: (fk[0].casefold(), fk[0], fk[1]))]
        result.append(
            PreviewRule(
                rule=rule,
                attack_rows=attack.by_tactic(attack.rule_attack_table(tags.tactics, tags.techniques)),
                events=events_for(rule.product, rule.category, rule.service, sorted(set(rule.event_ids))),
                indicator_rows=ordered,
                warnings=[(rule.doc_line + line - 1, message) for line, message in sorted(rule.warnings)],
            )
        )
    return result


def conversions(text: str) -> list[tuple[str, Conversion]]:
    """The pasted rules converted for every default target (fresh rule objects each: pipelines modify them),
    all under one request budget."""
    reg = registry()
    result = []
    with request_budget():
        for target_id in DEFAULT_TARGETS:
            if target_id in reg.targets:
                rules = read_rules(text, limits()).rules
                result.append((reg.targets[target_id].label, convert(rules, choose(target_id))))
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
