"""Request hardening every route shares: security headers Django does not send, and a first look
at each request that turns malformed input into a clear 400 before any view or query sees it.

Why a middleware: NUL bytes reach PostgreSQL (which rejects them in text: a 500), very long query
values reach SQLite's LIKE (a 500 past its pattern length limit), and a lone surrogate in a URL
cannot be encoded back. Checking them in every view would miss the next view; here nothing is
missed: the raw path, every query parameter, every posted form value and every cookie (a quoted
cookie value may spell a NUL as the octal escape \\000, which reaches the session table's lookup).
"""

import re
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# The catalog uses no powerful browser feature; deny them all to the page and anything it embeds.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), midi=(), payment=(), usb=()"
)
BROKEN_UTF8 = re.compile(r"%[89A-F][0-9A-F]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class SecurityHeadersMiddleware:
    """Send a Content-Security-Policy that allows no inline script, and a Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


# The name it had before it sent more than the CSP.
ContentSecurityPolicyMiddleware = SecurityHeadersMiddleware


class RequestSanityMiddleware:
    """400 for a request with NUL bytes (path, query, form, cookies), invalid UTF-8 (lone surrogates)
    or over-long query values."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = path_problem(request) or query_problem(request) or form_problem(request) or cookie_problem(request)
        if problem:
            if request.path.startswith("/api/"):
                return JsonResponse({"error": problem}, status=400)
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _raw(text: str) -> bytes:
    """The query string as the client sent it: WSGI gives its bytes as a latin-1 str."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="surrogatepass")


def _text_problem(raw: bytes, where: str) -> str:
    if b"\x00" in raw:
        return f"NUL character in the {where}."
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"The {where} is not valid UTF-8 (a lone surrogate or a stray byte)."
    return ""


def path_problem(request) -> str:
    path = request.path_info
    if "\x00" in path:
        return "NUL character in the path."
    # Django decodes the path as UTF-8 and puts bytes that are not valid UTF-8 (a lone surrogate
    # such as %ED%A0%80, a stray %FF) back as %XX escapes, 80 to FF: nothing else leaves them.
    if BROKEN_UTF8.search(path):
        return "The path is not valid UTF-8 (a lone surrogate or a stray byte)."
    return ""


def query_problem(request) -> str:
    limit = settings.CATALOG_MAX_QUERY_VALUE_CHARS
    pairs = [pair for pair in _raw(request.META.get("QUERY_STRING", "")).split(b"&") if pair]
    if len(pairs) > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
        return f"Too many query parameters (at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})."
    for pair in pairs:
        key, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        name = key.decode("utf-8", errors="replace")[:60]
        for raw, where in ((key, "query parameter name"), (value, f"query parameter {name!r}")):
            problem = _text_problem(raw, where)
            if problem:
                return problem
            if len(raw.decode("utf-8")) > limit:
                return f"The {where} is too long (at most {limit} characters)."
    return ""


def form_problem(request) -> str:
    if request.method != "POST" or request.content_type not in FORM_TYPES:
        return ""
    for key, values in request.POST.lists():
        for text in (key, *values):
            if "\x00" in text:
                return f"NUL character in the posted field {key[:60]!r}."
    return ""


def cookie_problem(request) -> str:
    for name, value in request.COOKIES.items():
        if "\x00" in name or "\x00" in value:
            return f"NUL character in the cookie {name.replace(chr(0), '?')[:60]!r}."
    return ""
