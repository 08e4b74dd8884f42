"""Who may queue another match job: per client, and for the whole site, in jobs and in stored bytes.

One address once queued ten 59 MB uploads in seven seconds and filled the site-wide queue
(CATALOG_MATCH_MAX_JOBS) for everyone else for two minutes. So a client (the rate limit's identity:
the user when logged in, else the address DRF's throttles read, honouring NUM_PROXIES) may have
at most CATALOG_MATCH_MAX_JOBS_PER_CLIENT jobs queued or running (429 past it), and the uploads
waiting on disk may add up to at most CATALOG_MATCH_MAX_QUEUED_BYTES (503, as the site-wide job cap).
Both are checked from the declared length before the body is read, and again with the stored size.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Sum
from rest_framework.throttling import BaseThrottle

from catalog.models.matching_jobs import MatchJob
from catalog.models.task_jobs import ACTIVE

RETRY_AFTER = 60  # seconds: about what one file at the head of the queue takes; a hint, not a promise


class QuotaRefused(Exception):
    """A job the client may not queue now: `status` 429 (its own share) or 503 (the site's); `retry_after` s."""

    def __init__(self, message: str, status: int, retry_after: int = RETRY_AFTER):
        super().__init__(message)
        self.message, self.status, self.retry_after = message, status, retry_after


def client_key(request) -> str:
    """The client as the match rate limit counts it: `user:<pk>` when logged in, else `addr:<address>`."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    address = BaseThrottle().get_ident(request) or "unknown"
    return f"addr:{address.replace(chr(0), '')}"[:200]


def check_quota(client: str, size: int) -> None:
    """Refuse (QuotaRefused) a job of `size` bytes for `client` when a cap would be passed."""
    live = MatchJob.objects.filter(status__in=ACTIVE)
    if live.count() >= settings.CATALOG_MATCH_MAX_JOBS:
        raise QuotaRefused(
            f"Too many files are being matched right now (at most {settings.CATALOG_MATCH_MAX_JOBS} site-wide): "
            f"try again in a minute.",
            503,
        )
    per_client = settings.CATALOG_MATCH_MAX_JOBS_PER_CLIENT
    mine = live.filter(client=client).count()
    if mine >= per_client:
        raise QuotaRefused(
            f"You already have {mine} file{'s' if mine != 1 else ''} waiting or being matched "
            f"(at most {per_client} per client, CATALOG_MATCH_MAX_JOBS_PER_CLIENT): "
            f"try again when one has finished.",
            429,
        )
    limit = settings.CATALOG_MATCH_MAX_QUEUED_BYTES
    queued = live.aggregate(total=Sum("size_bytes"))["total"] or 0
    if queued + size > limit:
        raise QuotaRefused(
            f"The files waiting to be matched already hold {queued:,} bytes; with this {size:,}-byte upload they "
            f"would pass {limit:,} (CATALOG_MATCH_MAX_QUEUED_BYTES): try again in a minute.",
            503,
        )
