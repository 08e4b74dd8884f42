"""Rate limits for anonymous visitors, counted in the cache every worker and node shares.

DRF's throttles keep their counters in `caches["shared"]` (a DatabaseCache by default, see
config/settings.py), not in per-process memory, so three gunicorn workers or two nodes enforce
one limit rather than one each. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], read
when a throttle is made (DRF would freeze them at import), so settings can change them:
- `anon`: every API request of an anonymous visitor (cached pages are served before it counts);
- `match`: POSTs to /api/match/ and /match/, by anyone (keyed by user when logged in), stricter
  because each one evaluates thousands of rules;
- `coverage`: POSTs to /api/coverage/ (a posted profile, perhaps with a Sysmon XML configuration to
  parse; a POST is never cached), by anyone (keyed by user when logged in).
A client is identified by REMOTE_ADDR, or by X-Forwarded-For behind `NUM_PROXIES` trusted proxies.
An identity that is not an IP address (a forged X-Forwarded-For when NUM_PROXIES is set too high:
any text, a NUL, 10 KB) is counted under its hash: the database cache's key column takes neither
NUL (PostgreSQL) nor more than 255 characters.
"""

import hashlib
import ipaddress

from django.core.cache import caches
from django.shortcuts import render
from rest_framework import throttling
from rest_framework.settings import api_settings


class SharedCacheMixin:
    @property
    def cache(self):
        return caches["shared"]

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        ident = super().get_ident(request) or ""  # a WSGI server that sets no REMOTE_ADDR gives None
        try:
            return str(ipaddress.ip_address(ident))
        except ValueError:
            return "not-an-address-" + hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class AnonRateThrottle(SharedCacheMixin, throttling.AnonRateThrottle):
    pass


class MatchRateThrottle(SharedCacheMixin, throttling.UserRateThrottle):
    scope = "match"


class CoverageRateThrottle(SharedCacheMixin, throttling.UserRateThrottle):
    scope = "coverage"


class ConvertRateThrottle(SharedCacheMixin, throttling.UserRateThrottle):
    """Conversions of posted rules, per client (or user), in the shared cache: each parses and converts."""

    scope = "convert"


class WebhookRateThrottle(SharedCacheMixin, throttling.SimpleRateThrottle):
    """Push webhooks, per client address whoever is signed in, counted before their signature is checked (no
    secret guessing)."""

    scope = "webhook"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttle_wait(throttle_class, request) -> int | None:
    """For an HTML form outside DRF: None if the throttle lets the request through, else the seconds
    to wait (the same counter as its API twin)."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    return int(throttle.wait() or 0) + 1


def match_wait(request) -> int | None:
    """The /match/ form's wait, on the counter /api/match/ uses."""
    return throttle_wait(MatchRateThrottle, request)


def refused_page(request, template: str, context: dict, wait: int, what: str):
    """A form page's answer past its rate: the page again, saying when to retry, as a 429 with Retry-After."""
    context["refusal"] = f"Too many {what} from your address: try again in {wait} s."
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response
