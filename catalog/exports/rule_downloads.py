"""One rule to take away: its YAML file, its ATT&CK Navigator layer and its CSV row.

The rule's JSON is its API twin (/api/rules/<id>/). The layer and the CSV row are the rule list's
exports (catalog.exports.files) given a one-rule queryset, so a rule's row reads exactly like
its row in /rules/export.csv. A rule that has a page (public: live or retired) can be downloaded;
a hidden or unknown rule is a 404, as its page is.
"""

import re
from pathlib import PurePosixPath

from django.http import Http404, HttpResponse
from django.urls import reverse

from catalog.exports.files import csv_response, layer_response
from catalog.models import Rule
from catalog.platform.parameters import reads_parameters

# Characters kept in a download's file name; anything else (quotes, control characters) is dropped.
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def _public_rule(rule_uuid, *fields) -> Rule:
    rule = Rule.objects.public().filter(uuid=rule_uuid).only("uuid", "path", *fields).first()
    if rule is None:
        raise Http404("No such rule in the catalog.")
    return rule


def download_name(rule: Rule, suffix: str) -> str:
    """The rule file's own name with `suffix` (e.g. 'proc_creation_win_net.yml'); the rule id if it has none."""
    stem = UNSAFE_FILENAME.sub("", PurePosixPath(rule.path or "").stem)
    return f"{stem or rule.uuid}{suffix}"


@reads_parameters()
def rule_yaml(request, rule_uuid):
    """The rule's YAML exactly as it was imported (its own document of a multi-document file)."""
    rule = _public_rule(rule_uuid, "yaml_text")
    response = HttpResponse(rule.yaml_text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{download_name(rule, ".yml")}"'
    return response


@reads_parameters()
def rule_layer(request, rule_uuid):
    """An ATT&CK Navigator layer of this one rule's techniques."""
    rule = _public_rule(rule_uuid, "title")
    return layer_response(
        request,
        Rule.objects.filter(pk=rule.pk),
        name=rule.title[:200],
        description=f"ATT&CK techniques of the Sigma rule {rule.uuid}",
        source_path=reverse("browse:rule-detail", args=[rule.uuid]),
        filename=download_name(rule, "-layer.json"),
    )


@reads_parameters()
def rule_csv(request, rule_uuid):
    """This rule's row of the rule list's CSV export, under the same header."""
    rule = _public_rule(rule_uuid)
    return csv_response(request, Rule.objects.filter(pk=rule.pk), download_name(rule, ".csv"), stream=False)
