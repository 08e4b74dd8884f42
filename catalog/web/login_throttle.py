"""Login throttling: after CATALOG_LOGIN_FAILURE_LIMIT wrong passwords for one username from one
client within CATALOG_LOGIN_LOCKOUT_SECONDS, that username is locked for that client until the
window ends, even with the right password.

Failures are counted from Django's `user_login_failed` signal, so every login path counts (the
admin form, DRF's basic authentication); the lock is enforced by `ThrottledModelBackend`, the
authentication backend, so no path can skip it. The counters live in `caches["shared"]`, the
cache every worker and node shares. `LoginThrottleMiddleware` only makes the admin's answer
clear: a 429 with Retry-After instead of the usual "wrong password" form.
Why not django-axes: it brings its own models, migrations, middleware and backend for what is a
counter in the cache here.
"""

import hashlib
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpResponse
from django.urls import reverse
from rest_framework.throttling import BaseThrottle


def _key(username: str, request) -> str:
    client = BaseThrottle().get_ident(request) if request is not None else "-"
    digest = hashlib.sha256(f"{username.casefold()}\0{client}".encode("utf-8", errors="replace")).hexdigest()
    return f"login-failures:{digest}"


def seconds_locked(username: str, request) -> int:
    """How long this username stays locked for this client (0: not locked)."""
    failures, window_end = caches["shared"].get(_key(username, request), (0, 0))
    if failures < settings.CATALOG_LOGIN_FAILURE_LIMIT:
        return 0
    return max(0, int(window_end - time.time()) + 1)


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")
    key = _key(username, request)
    cache = caches["shared"]
    failures, window_end = cache.get(key, (0, 0))
    now = time.time()
    if window_end <= now:  # the first failure opens a window; later ones fall into it
        failures, window_end = 0, now + settings.CATALOG_LOGIN_LOCKOUT_SECONDS
    cache.set(key, (failures + 1, window_end), max(1, int(window_end - now) + 1))


@receiver(user_logged_in)
def forget_failures(sender, request=None, user=None, **kwargs):
    if user is not None:
        caches["shared"].delete(_key(user.get_username(), request))


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, refusing a locked username+client before looking at the password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is not None and seconds_locked(str(username), request):
            raise PermissionDenied("too many failed logins")
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginThrottleMiddleware:
    """A locked admin login gets 429 and Retry-After rather than the login form again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path == reverse("admin:login"):
            wait = seconds_locked(str(request.POST.get("username", "")), request)
            if wait:
                response = HttpResponse(
                    f"Too many failed logins for this username from your address: try again in {wait} s.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(wait)
                return response
        return self.get_response(request)
