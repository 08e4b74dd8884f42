"""Conversion API: /api/targets/, /api/rules/<id>/query/ and POST /api/convert/.

Each answer is {query, target, pipeline, format, backend_version, errors, unconstrained}: `query` is
null and `errors` holds pySigma's message when the backend cannot convert the rule (that is an answer,
a 200, not a failure of the request); `pipeline` names the pipelines that made the query (a target may
route a log source to its own, catalog.conversion.known); `unconstrained` is true when the query searches
every event, nothing narrowing it to the rule's log source (catalog.conversion.constraint), null when
there is no query or the backend is not one the catalog judges. A request that names an unknown
target, pipeline or format is a 400 that lists the choices.

POST /api/convert/ is open to anonymous visitors, so it is bounded like the importer: the body is
JSON only (a form or text/plain post, which any web page can make a visitor's browser send, gets a
415), read up to twice the importer's file size limit (JSON escapes), the YAML itself held to that
limit and parsed by catalog.core/sigma with the importer's limits (windash expansion included); NUL
characters and malformed input are 400s with what is wrong; posts are rate limited per client (scope
`convert`); the conversion runs under the request's time and memory budget (catalog.conversion.budget).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, parser_classes, throttle_classes
from rest_framework.exceptions import APIException
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from catalog.conversion import requested, stored
from catalog.conversion.budget import request_budget
from catalog.conversion.converter import Choice, choose, convert
from catalog.conversion.formats import FORMATS
from catalog.conversion.requested import CONVERSION_PARAMETERS
from catalog.conversion.sources import read_rules, text_problem
from catalog.conversion.targets import UnknownChoice, registry
from catalog.models import Rule
from catalog.platform.parameters import reads_parameters
from catalog.platform.throttling import AnonRateThrottle, ConvertRateThrottle

CHOICE_PARAMETERS = [
    OpenApiParameter("target", str, description="a target id from /api/targets/ (default splunk)"),
    OpenApiParameter("pipeline", str, description="pipeline id(s), comma-separated; 'none'; default: the target's"),
    OpenApiParameter("format", str, description="the backend's output format (default: default)"),
]


class FormatIsAQueryFormat(DefaultContentNegotiation):
    """`format` names the backend's output format here, not DRF's renderer (whose ?format= would 404)."""

    class settings:
        URL_FORMAT_OVERRIDE = None


class BodyTooLarge(APIException):
    status_code = 413
    default_detail = "Request body too large."


def negotiation(view):
    """Give an @api_view view (the class DRF made of it) the negotiation above."""
    view.cls.content_negotiation_class = FormatIsAQueryFormat
    return view


def body_limit() -> int:
    return settings.CATALOG_MAX_FILE_BYTES * 2 + 4096  # the YAML, JSON-escaped, and the other fields


class JsonTextParser(BaseParser):
    """application/json read as text, at most body_limit() bytes: decoded by convert_api, not DRF."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = body_limit()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(f"Request body over {limit} bytes.")
        return raw


class BadInput(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def request_choice(params) -> Choice:
    try:
        return choose(params.get("target"), params.get("pipeline"), params.get("format"))
    except UnknownChoice as exc:
        raise BadInput(str(exc)) from None


@reads_parameters("format")
@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def targets_api(request):
    """Installed conversion targets (pySigma backends), their pipelines and output formats, and the bulk formats."""
    reg = registry()
    return Response(
        {
            "targets": [target.as_dict(reg) for target in reg.ordered()],
            "bulk_formats": [
                {"id": f.id, "label": f.label, "targets": list(f.targets), "extension": f.extension}
                for f in FORMATS.values()
            ],
            "pysigma_version": reg.pysigma_version,
        }
    )


@reads_parameters(*CONVERSION_PARAMETERS, "format")
@extend_schema(parameters=CHOICE_PARAMETERS, responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
@negotiation
@api_view(["GET"])
def rule_query_api(request, uuid):
    """A catalog rule converted for a target: {query, target, pipeline, format, backend_version, errors,
    unconstrained} (unconstrained: true when the query searches every event)."""
    rule = Rule.objects.public().filter(uuid=uuid).only(*stored.RULE_FIELDS).first()
    if rule is None:
        raise Http404("No such rule in the catalog.")
    try:
        choice = request_choice(request.query_params)
    except BadInput as exc:
        return Response({"error": exc.message}, status=exc.status)
    return Response(requested.rule_query(rule, choice).as_dict())


@extend_schema(
    request={"application/json": OpenApiTypes.OBJECT},
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 413: OpenApiTypes.OBJECT, 415: OpenApiTypes.OBJECT},
    description='Body (application/json): {"yaml": "<Sigma rule YAML>", "target": …, "pipeline": …, "format": …} '
    "(target, pipeline and format may also be query parameters). Several documents (a correlation and its rules) "
    "convert together. Answer: {query, target, pipeline, format, backend_version, errors, unconstrained, warnings} "
    "(unconstrained: true when the query searches every event).",
)
@negotiation
@api_view(["POST"])
@parser_classes([JsonTextParser])
@throttle_classes([AnonRateThrottle, ConvertRateThrottle])
def convert_api(request):
    """Convert a Sigma rule that is not in the catalog (nothing is saved)."""
    if request.content_type.split(";")[0].strip().lower() != "application/json":
        return Response({"error": 'Send the rule as application/json: {"yaml": "..."}.'}, status=415)
    try:
        raw = request.data
    except BodyTooLarge as exc:
        return Response({"error": str(exc.detail)}, status=exc.status_code)
    try:
        body = posted_json(raw if isinstance(raw, bytes) else b"")
        choice = request_choice({**request.query_params.dict(), **{k: body[k] for k in body if k != "yaml"}})
        return Response(convert_text(body["yaml"], choice))
    except BadInput as exc:
        return Response({"error": exc.message}, status=exc.status)


def posted_json(raw: bytes) -> dict:
    """The posted object, checked: a JSON object whose `yaml` is text without NUL, within the size limit."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadInput(f"The body is not UTF-8 (byte {exc.start}).") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"Not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    except RecursionError:  # "[" * 100000 is 100 KB of valid-looking JSON
        raise BadInput("The JSON is nested too deeply.") from None
    if not isinstance(body, dict):
        raise BadInput('Send a JSON object: {"yaml": "<Sigma rule>", "target": "splunk"}.')
    text = body.get("yaml")
    if not isinstance(text, str) or not text.strip():
        raise BadInput('The object needs "yaml": the Sigma rule as a string.')
    for key in ("target", "pipeline", "format"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise BadInput(f'"{key}" must be a string.')
    check_text(text)
    return body


def check_text(text: str) -> None:
    problem, status = text_problem(text, settings.CATALOG_MAX_FILE_BYTES)
    if problem:
        raise BadInput(problem, status)


def convert_text(text: str, choice: Choice) -> dict:
    """Parse pasted YAML (catalog.core/sigma, importer limits) and convert it: the API's answer, or BadInput."""
    read = read_rules(text, stored.limits())
    if not read.rules:
        raise BadInput("The rule cannot be read: " + "; ".join(read.messages or ["no rule found"]))
    with request_budget():
        answer = convert(read.rules, choice).as_dict()
    answer["errors"] = read.messages + answer["errors"]  # a document that failed, beside the ones that converted
    answer["warnings"] = read.warning_messages
    return answer
