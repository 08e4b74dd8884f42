"""Web links into a rule's repository: its file at a commit, and a commit's page.

Pure functions of a source's settings (base URL, git URL, folders), so the rule page's template filter and
/changes/ make the same links. A source's `base_url` is what rule paths are relative to
(https://github.com/SigmaHQ/sigma/blob/master/). With a commit known:
- a base URL holding `{commit}` gets it there (any forge: https://git.example.org/team/rules/src/{commit}/);
- a GitHub or GitLab base URL (`.../blob/<ref>/`, `.../-/blob/<ref>/`) gets the commit in place of its ref;
- without a base URL, a github.com or gitlab.com git URL (https or ssh) gives the forge's own links.
A rule's path is '<imported folder's name>/<path below it>'; for a git source whose folder lies deeper in
the repository (`rules/windows`), the folder's parents are put back in front.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

FORGES = ("github.com", "gitlab.com")
# https://host/owner/repo(.git), ssh://git@host/owner/repo(.git), git@host:owner/repo(.git)
_HTTP_REPO = re.compile(r"^https?://(?P<host>[^/@]+)/(?P<path>[^?#]+?)(?:\.git)?/*$", re.IGNORECASE)
_SSH_REPO = re.compile(r"^(?:ssh://)?[^@/]+@(?P<host>[^:/]+)[:/](?P<path>[^?#]+?)(?:\.git)?/*$", re.IGNORECASE)
_BLOB_BASE = re.compile(r"^(?P<repo>https?://[^/]+/.+?)/(?P<dash>-/)?blob/(?P<ref>[^/]+)/(?P<rest>.*)$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


def forge_repository(git_url: str) -> tuple[str, bool] | None:
    """(the repository's web address, whether it is a GitLab) for a github.com or gitlab.com git URL."""
    text = (git_url or "").strip()
    match = _HTTP_REPO.match(text) or _SSH_REPO.match(text)
    if not match or match.group("host").lower() not in FORGES:
        return None
    return f"https://{match.group('host').lower()}/{match.group('path')}", match.group("host").lower() == "gitlab.com"


def repository_path(rule_path: str, git_paths: list[str] | None) -> str:
    """A git source's rule file's path inside its repository (`git_paths`: its folders; none: all of it)."""
    rule_path = (rule_path or "").lstrip("/")
    root_name, _, below = rule_path.partition("/")
    if not git_paths:
        return below  # the whole repository was imported: its checkout folder's name comes first
    for folder in git_paths:
        folder = folder.strip("/")
        if folder.rsplit("/", 1)[-1] == root_name:
            return f"{folder}/{below}"
    return rule_path


def file_url(base_url: str, git_url: str, git_paths: list[str] | None, rule_path: str, commit: str = "") -> str:
    """The rule file's web address (at `commit` when it is known and the address can name one); '' if none."""
    if not rule_path:
        return ""
    commit = commit if _COMMIT.match(commit or "") else ""
    path = quote(repository_path(rule_path, git_paths) if git_url else rule_path.lstrip("/"))
    base = (base_url or "").strip()
    if base:
        if urlsplit(base).scheme.lower() not in ("http", "https"):
            return ""
        if "{commit}" in base:
            return base.replace("{commit}", commit or "HEAD").rstrip("/") + "/" + path
        blob = _BLOB_BASE.match(base)
        if commit and blob:
            rest = blob.group("rest").strip("/")
            at_commit = f"{blob.group('repo')}/{blob.group('dash') or ''}blob/{commit}/"
            return at_commit + (f"{rest}/" if rest else "") + path
        return base.rstrip("/") + "/" + path
    forge = forge_repository(git_url)
    if forge is None:
        return ""
    web, gitlab = forge
    return f"{web}/{'-/' if gitlab else ''}blob/{commit or 'HEAD'}/{path}"


def commit_url(base_url: str, git_url: str, commit: str) -> str:
    """The commit's page on its forge; '' when neither address names a known forge."""
    if not _COMMIT.match(commit or ""):
        return ""
    blob = _BLOB_BASE.match((base_url or "").strip())
    if blob and urlsplit(blob.group("repo")).hostname in FORGES:
        return f"{blob.group('repo')}/{blob.group('dash') or ''}commit/{commit}"
    forge = forge_repository(git_url)
    if forge is None:
        return ""
    web, gitlab = forge
    return f"{web}/{'-/' if gitlab else ''}commit/{commit}"
