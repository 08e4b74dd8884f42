"""The `export` rate (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES, CATALOG_RATE_EXPORT) for the rule list's
downloads: SIEM files, CSV and the Navigator layer, per client (or user), in the shared cache."""

from django.http import JsonResponse
from rest_framework import throttling

from catalog.platform.throttling import SharedCacheMixin, throttle_wait


class ExportRateThrottle(SharedCacheMixin, throttling.UserRateThrottle):
    scope = "export"


def export_throttled(request) -> JsonResponse | None:
    """A 429 with Retry-After when this client has downloaded exports too often, else None."""
    wait = throttle_wait(ExportRateThrottle, request)
    if wait is None:
        return None
    response = JsonResponse(
        {"error": f"Too many exports from this client: try again in {wait} seconds.", "retry_after": wait},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def client_id(request) -> str:
    """Who a per-client cap counts: the user when signed in, else the address DRF's throttles use."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}"
    return throttling.AnonRateThrottle().get_ident(request)
