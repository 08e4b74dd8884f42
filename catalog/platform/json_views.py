"""A DRF view around a JSON endpoint written for Django, so the OpenAPI schema (drf-spectacular) can
describe it with @extend_schema while its answers stay byte for byte what they were.

The handler is given the Django request (`request._request`) and returns its JsonResponse, which
DRF passes through unrendered. Everything else DRF would add is switched off, so the endpoint does
what it did before: no DRF authentication (the session is not read, so an anonymous answer carries no
`Vary: Cookie` and stays cacheable; the handler sees the middleware's user), no DRF throttle (a
handler applies its own), no content negotiation (an Accept header or a `format` parameter never
turns into a 404 or a 406), and Django's own 404 and 403 pages for Http404 and PermissionDenied.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView, exception_handler


class AlwaysJson(BaseContentNegotiation):
    """JSON whatever the request asks for, as the plain view answered."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def django_errors_stay_django(exc, context):
    """DRF's handler for its own errors (405...), but Http404 and PermissionDenied go on to Django as before."""
    if isinstance(exc, (Http404, PermissionDenied)):
        return None  # DRF re-raises what no handler answers
    return exception_handler(exc, context)


class DjangoJsonView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    parser_classes: list = []  # handlers read the body themselves, within their own limits
    content_negotiation_class = AlwaysJson
    metadata_class = None  # OPTIONS is a 405, as it was

    def perform_authentication(self, request):
        pass  # see the module's docstring: request.user is never read here

    def get_exception_handler(self):
        return django_errors_stay_django
