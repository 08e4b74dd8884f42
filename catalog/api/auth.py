"""Session authentication that leaves anonymous requests alone, so the API's anonymous answers are cacheable.

DRF's SessionAuthentication reads `request.user`, which loads the session, which makes Django's
SessionMiddleware add `Vary: Cookie` to every answer: the page cache (catalog.web.page_cache) then
could not tell an anonymous answer from a personal one, and never kept any API response. A request
without a session cookie has no session to read: it is anonymous, and is answered without touching
the session. With the cookie, this is DRF's SessionAuthentication (CSRF enforced on unsafe methods).
"""

from django.conf import settings
from rest_framework.authentication import SessionAuthentication


class SessionCookieAuthentication(SessionAuthentication):
    def authenticate(self, request):
        if settings.SESSION_COOKIE_NAME not in request._request.COOKIES:
            return None
        return super().authenticate(request)
