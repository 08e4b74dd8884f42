"""Session authentication that leaves anonymous requests alone, so the API's anonymous answers are cacheable.

DRF's SessionAuthentication reads `request.user`, which loads the session, which makes Django's
SessionMiddleware add `Vary: Cookie` to every answer: the page cache (catalog.platform.page_cache) then
could not tell an anonymous answer from a personal one, and never kept any API response. A request
without a session cookie has no session to read: it is anonymous, and is answered without touching
the session. With the cookie, this is DRF's SessionAuthentication (CSRF enforced on unsafe methods).
"""

from django.conf import settings
from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication


class SessionCookieAuthentication(SessionAuthentication):
    def authenticate(self, request):
        if settings.SESSION_COOKIE_NAME not in request._request.COOKIES:
            return None
        return super().authenticate(request)


class SessionCookieScheme(SessionScheme):
    """The OpenAPI schema documents it as the cookie session it is (drf-spectacular's extension)."""

    target_class = "catalog.platform.api_auth.SessionCookieAuthentication"
