"""Links to the outside world, made safe to render."""

from urllib.parse import urlsplit


def web_url(url):
    """The URL when it is http(s), else '' so the template shows it as plain text (no javascript: links)."""
    text = str(url or "").strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return ""
    return text if scheme in ("http", "https") else ""
