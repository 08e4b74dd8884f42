"""Rules as files for SOC leads: an ATT&CK Navigator layer and a CSV of rules (the views: exports/views.py,
catalog.coverage.views and exports/rule_downloads.py).

The rule list's exports stream (StreamingHttpResponse): the filters are checked first (a 400 is a
400), then the first bytes leave before any rule is read, and the rules are read through a database
cursor in chunks of EXPORT_CHUNK as plain rows, with their techniques in one query per chunk, written
and forgotten.
So an export's memory is the same for 10 rules or 75,000. A single rule's downloads share the code,
unstreamed.
"""

import csv
import json
from collections import Counter
from itertools import islice

from django.db.models import Count
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse

from catalog.core.reference import attack
from catalog.models import Rule
from catalog.models.rules import effective_tags
from catalog.platform.stream_failures import guarded

# Cells that a spreadsheet would run as a formula are prefixed, so an exported rule cannot inject one.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_CHUNK = 500
CSV_HEADER = [
    "id",
    "title",
    "status",
    "level",
    "product",
    "category",
    "service",
    "techniques",
    "tags",
    "author",
    "modified",
    "source",
    "path",
    "url",
]


def layer_response(request, rules, name: str, description: str, source_path: str, filename: str, stream=False):
    """The Navigator layer of `rules` as a download; the rule list's export (streamed) and a rule page's share it.

    Its size is bounded by the number of ATT&CK techniques, not of rules: the rules are counted in
    the database (one GROUP BY), after the layer's opening has been sent.
    """
    head = {
        "name": name,
        "description": description,
        "domain": "enterprise-attack",
        "versions": {"attack": "19", "navigator": "5.1.0", "layer": "4.5"},
        "sorting": 3,
    }
    source = request.build_absolute_uri(source_path)
    pieces = _layer_pieces(rules, head, source)
    response = StreamingHttpResponse(guarded(pieces, "json", request.path)) if stream else HttpResponse("".join(pieces))
    response["Content-Type"] = "application/json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _layer_pieces(rules, head: dict, source: str):
    yield json.dumps(head, indent=2)[:-2] + ",\n"  # the object stays open: the counts follow
    counts = technique_counts(rules)
    data = attack.load()
    top = max(counts.values(), default=1)
    rest = {
        "gradient": {"colors": ["#e8f0fe", "#1a56c4"], "minValue": 0, "maxValue": top},
        "techniques": [
            {
                "techniqueID": tid,
                "score": n,
                "comment": f"{n} rule{'s' if n != 1 else ''}",
                "enabled": True,
                "showSubtechniques": False,
            }
            for tid, n in sorted(counts.items())
            if data.technique(tid).known
        ],
        "metadata": [{"name": "source", "value": source}],
    }
    yield json.dumps(rest, indent=2)[1:]  # without its opening brace: the members continue the object


def technique_counts(rules) -> Counter:
    """Rules per technique id, for the rules of `rules` read through a cursor a chunk of ids at a time.

    `rules` is never nested as a subquery: a search's SQLite full-text match names the rule table
    itself ("catalog_rule"."id"), which a subquery renames (no such column: catalog_rule.id).
    """
    counts: Counter = Counter()
    ids = rules.order_by().values_list("pk", flat=True).distinct().iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(islice(ids, EXPORT_CHUNK)):
        tagged = Rule.techniques.through.objects.filter(rule_id__in=chunk)
        counts.update(
            dict(
                tagged.values("technique__technique_id")
                .annotate(n=Count("rule_id", distinct=True))
                .values_list("technique__technique_id", "n")
            )
        )
    return counts


def csv_response(request, rules, filename: str, stream=True):
    """`rules` as CSV, one row per rule, as a download; the rule list's export and a rule page's share it."""
    lines = _csv_lines(request, rules)
    response = StreamingHttpResponse(guarded(lines, "csv", request.path)) if stream else HttpResponse("".join(lines))
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Line:
    """A file-like object whose write returns what it is given: csv.writer then produces lines."""

    def write(self, text: str) -> str:
        return text


CSV_COLUMNS = (
    "pk",
    "uuid",
    "title",
    "status",
    "level",
    "level_override",
    "product",
    "category",
    "service",
    "tags",
    "local_tags_added",
    "local_tags_removed",
    "author",
    "modified",
    "source__name",
    "path",
)


def _csv_lines(request, rules):
    """The CSV's lines: the header at once, then the rules as plain rows (no model instances), a chunk at
    a time through a database cursor, each chunk's techniques in one query."""
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_HEADER)
    base = request.build_absolute_uri(reverse("browse:rule-list"))
    rows = rules.order_by("sort_title", "pk").values_list(*CSV_COLUMNS).iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(islice(rows, EXPORT_CHUNK)):
        techniques: dict[int, list[str]] = {}
        tagged = Rule.techniques.through.objects.filter(rule_id__in=[row[0] for row in chunk])
        for rule_id, technique_id in tagged.order_by("technique__technique_id").values_list(
            "rule_id", "technique__technique_id"
        ):
            techniques.setdefault(rule_id, []).append(technique_id)
        lines = []
        for pk, uuid, title, status, level, override, product, category, service, *rest in chunk:
            tags, added, removed, author, modified, source, path = rest
            values = (uuid, title, status, override or level, product, category, service)
            values += (" ".join(techniques.get(pk, ())), " ".join(effective_tags(tags, added, removed)), author)
            values += (modified or "", source, path, f"{base}{uuid}/")
            lines.append(writer.writerow([_cell(value) for value in values]))
        yield "".join(lines)


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
