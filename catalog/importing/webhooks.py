"""`POST /api/sources/<name>/webhook/`: a push to a git source's repository queues its sync.

Verified before anything else is done with the body:
- GitHub: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the secret;
- GitLab: `X-Gitlab-Token: <secret>`.
Both are compared in constant time (hmac.compare_digest). The secret is the environment's
CATALOG_WEBHOOK_SECRET_<NAME> (settings.CATALOG_WEBHOOK_SECRETS), never the database: GitHub signs with the
secret itself, so it could not be stored hashed. A request that is not verified, for a source that has no
secret or is not a git source, or unknown, gets the same 403 and nothing runs.

The endpoint is CSRF-exempt (a DRF view without session authentication: it reads no cookie and a forge
signs nothing with one), rate limited per client before the signature is checked (`webhook` scope,
CATALOG_RATE_WEBHOOK), and reads at most CATALOG_WEBHOOK_MAX_BYTES of body (413 beyond, before reading).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from catalog.importing.git_sources import setting_for
from catalog.importing.sync_jobs import enqueue_sync
from catalog.models import Source
from catalog.platform.json_views import DjangoJsonView
from catalog.platform.parameters import declare
from catalog.platform.throttling import WebhookRateThrottle, throttle_wait

REFUSED = {"error": "refused: not a verified push webhook of a git source"}


def verified(headers, body: bytes, secret: str) -> bool:
    """Whether the request carries GitHub's signature of `body` or GitLab's token, made with `secret`."""
    if not secret:
        return False
    key = secret.encode()
    signature = headers.get("X-Hub-Signature-256")
    if signature is not None:
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature.strip().encode("utf-8", "replace"), expected.encode())
    token = headers.get("X-Gitlab-Token")
    if token is not None:
        return hmac.compare_digest(token.encode("utf-8", "replace"), key)
    return False


def webhook(request, name: str) -> JsonResponse:
    wait = throttle_wait(WebhookRateThrottle, request)
    if wait is not None:
        response = JsonResponse({"error": f"too many webhook requests: try again in {wait} s"}, status=429)
        response["Retry-After"] = str(wait)
        return response
    limit = settings.CATALOG_WEBHOOK_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > limit:
        return JsonResponse({"error": f"the body is over {limit} bytes (or its length is invalid)"}, status=413)
    body = request.read(length) if length else b""
    secret = setting_for(settings.CATALOG_WEBHOOK_SECRETS, name)
    source = Source.objects.filter(name=name).exclude(git_url="").first() if secret else None
    if source is None or not verified(request.headers, body, secret):
        return JsonResponse(REFUSED, status=403)
    if request.headers.get("X-GitHub-Event") == "ping":
        return JsonResponse({"queued": False, "reason": "ping: the webhook is set up"}, status=200)
    pushed = _pushed_ref(body)
    if pushed and source.branch and pushed != f"refs/heads/{source.branch}":
        reason = f"a push to {pushed[:200]}; the source follows {source.branch}"
        return JsonResponse({"queued": False, "reason": reason}, status=202)
    job, new = enqueue_sync(source)
    reason = "sync queued" if new else "a sync of this source is already queued"
    return JsonResponse({"queued": new, "reason": reason, "job": job.pk}, status=202)


def _pushed_ref(body: bytes) -> str:
    """The pushed ref (`ref` of GitHub's and GitLab's push payloads), '' when the body names none."""
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return ""
    ref = payload.get("ref") if isinstance(payload, dict) else None
    return ref if isinstance(ref, str) else ""


ANSWER = inline_serializer(
    "WebhookAnswer",
    {
        "queued": serializers.BooleanField(help_text="whether this request queued a new sync"),
        "reason": serializers.CharField(),
        "job": serializers.IntegerField(required=False, help_text="the queued sync job"),
    },
)
ERROR = inline_serializer("WebhookError", {"error": serializers.CharField()})


class SourceWebhookAPI(DjangoJsonView):
    query_parameters = declare([])

    @extend_schema(
        operation_id="source_webhook",
        summary="A push webhook of a git source: queues its sync",
        description="GitHub (`X-Hub-Signature-256`) or GitLab (`X-Gitlab-Token`) push webhook, verified with the "
        "source's secret (CATALOG_WEBHOOK_SECRET_<NAME>); anything else is a 403 and nothing runs. Rate limited per "
        "client (scope `webhook`).",
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, description="the source")],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(ANSWER, description="GitHub's ping: nothing queued"),
            202: OpenApiResponse(ANSWER, description="verified: a sync queued (or one already was)"),
            403: OpenApiResponse(ERROR, description="not verified, no secret set, or no such git source"),
            413: OpenApiResponse(ERROR, description="the body is too large"),
            429: OpenApiResponse(ERROR, description="too many webhook requests: see Retry-After"),
        },
    )
    def post(self, request, name):
        return webhook(request._request, name)
