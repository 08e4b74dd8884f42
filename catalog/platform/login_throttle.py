"""Login throttling: after CATALOG_LOGIN_FAILURE_LIMIT wrong passwords for one username from one
client within CATALOG_LOGIN_LOCKOUT_SECONDS, that username is locked for that client until the
window ends, even with the right password.

Failures are counted from Django's `user_login_failed` signal, so every login path counts (the
admin form, DRF's basic authentication); the lock is enforced by `ThrottledModelBackend`, the
authentication backend, so no path can skip it. The counters live in `caches["shared"]`, the
cache every worker and node shares. `LoginThrottleMiddleware` only makes the admin's answer
clear: a 429 with Retry-After instead of the usual "wrong password" form.

Counting must hold when failures arrive at once (several workers, a scripted guesser): a get then a
set lets concurrent failures overwrite each other and count one. `cache.incr` is atomic on Redis and
locmem, but on the database cache (the default "shared" cache) Django's incr is that same get+set.
So each failure takes the next free *slot*, one key per failure up to the limit, with `cache.add`,
which is atomic on all three (Redis SET NX; locmem under its lock; the database cache inserts the
key, and a concurrent insert of the same key fails on its primary key). The pair is locked while
its last slot is taken. Each slot holds the window's end and expires with it.
Why not django-axes: it brings its own models, migrations, middleware and backend for what is a
counter in the cache here.
"""

import hashlib
import math
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


def _slots(username: str, request) -> list[str]:
    """The cache keys of this username+client's failure slots, one per failure up to the limit."""
    client = BaseThrottle().get_ident(request) if request is not None else "-"
    digest = hashlib.sha256(f"{username.casefold()}\0{client}".encode("utf-8", errors="replace")).hexdigest()
    return [f"login-failures:{digest}:{n}" for n in range(max(1, settings.CATALOG_LOGIN_FAILURE_LIMIT))]


def seconds_locked(username: str, request) -> int:
    """How long this username stays locked for this client (0: not locked)."""
    window_end = caches["shared"].get(_slots(username, request)[-1])
    if window_end is None:
        return 0
    return max(0, int(window_end - time.time()) + 1)


def failures_counted(username: str, request) -> int:
    """How many failures of this username+client the current window holds (at most the limit)."""
    return len(caches["shared"].get_many(_slots(username, request)))


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")
    cache = caches["shared"]
    slots = _slots(username, request)
    taken = cache.get_many(slots)
    now = time.time()
    # The first failure opens a window; later ones fall into it (and their slots expire with it).
    window_end = taken.get(slots[0]) or now + settings.CATALOG_LOGIN_LOCKOUT_SECONDS
    timeout = max(1, math.ceil(window_end - now))
    for slot in slots:
        if slot not in taken and cache.add(slot, window_end, timeout):
            return  # this failure's slot; a slot another failure took meanwhile: try the next
    # every slot taken: the pair is locked already


@receiver(user_logged_in)
def forget_failures(sender, request=None, user=None, **kwargs):
    if user is not None:
        caches["shared"].delete_many(_slots(user.get_username(), request))


def _storable(text: str) -> bool:
    """Whether the database could hold (and so compare) this text: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, refusing a locked username+client before looking at the password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is not None and seconds_locked(str(username), request):
            raise PermissionDenied("too many failed logins")
        if username is not None and not _storable(str(username)):
            return None  # no such user can exist; PostgreSQL would refuse the lookup (a 500)
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
