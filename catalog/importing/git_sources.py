"""A git source's checkout: fetched with the `git` binary into CATALOG_SOURCES_DIR/<name>, safely.

Why the `git` binary rather than dulwich: it is on every server that holds rule repositories, it speaks
every transport and authentication operators already use (HTTPS with a token, SSH deploy keys through
GIT_SSH_COMMAND, proxies from git's config), and it does partial clones and sparse checkouts, so a sync
of SigmaHQ downloads the commits and trees plus only the blobs of the imported folders; dulwich has no
partial clone and no sparse checkout, and its SSH needs paramiko or the same ssh binary anyway.

How git is run: argument lists, never a shell; a timeout (CATALOG_GIT_TIMEOUT_SECONDS) that kills git's
whole process group (ssh, remote helpers); GIT_TERMINAL_PROMPT=0 and ssh BatchMode, so a missing credential
fails at once rather than waiting for a password; only the https, http, ssh, git and file transports
(GIT_ALLOW_PROTOCOL: no `ext::` commands); symlinks checked out as plain files (core.symlinks=false).
Credentials come from settings, per source name, never from the database: a token
(CATALOG_GIT_TOKEN_<NAME>, sent as an HTTP Authorization header given to git through GIT_CONFIG_* variables,
so it is neither in the command line nor in .git/config) or a deploy key (CATALOG_GIT_SSH_KEY_<NAME>, a
private key file). Every message git prints is redacted (the token, and any user:password@ in a URL)
before it reaches a report or a log.

History is fetched in full (commits and trees, not file contents: `--filter=blob:none`), so a force-push is
told from a fast-forward (`merge-base --is-ancestor`) and the commits between two syncs can be listed.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

SPARSE_EXTRA = ("regression_data",)  # SigmaHQ's logged test events, read beside the rule folders (test_events.py)
LOG_LIMIT = 10_000  # commits read to date each changed file; a longer range dates the rest by the tip
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]{1,200}(?<![/.])$")
_SCP_URL = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!/)[^\s]+$")  # git@github.com:owner/repo.git
_CREDENTIALS_IN_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
URL_SCHEMES = ("https", "http", "ssh", "git", "file")


class GitError(Exception):
    """A git command failed; the message says what, with every secret redacted."""


class SourceSettingError(ValueError):
    """A git source's name, URL, branch or folders are not acceptable; the message says why."""


# -- checking what an operator typed ----------------------------------------------------------------------
def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise SourceSettingError(
            f"{name!r}: a git source's name is letters, digits, '.', '_' and '-' (at most 100, a letter or digit "
            "first): it names its checkout folder and its CATALOG_GIT_TOKEN_<NAME> setting"
        )
    return name


def check_url(url: str) -> str:
    url = (url or "").strip()
    if _SCP_URL.match(url):
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() not in URL_SCHEMES or url.startswith("-"):
        raise SourceSettingError(f"{url!r}: not a git URL (https://, ssh://, git://, file:// or user@host:path)")
    if parts.password is not None or (parts.username and parts.scheme.lower() in ("http", "https")):
        raise SourceSettingError(
            "the URL holds a credential: remove it and put the token in the environment "
            "(CATALOG_GIT_TOKEN_<NAME>, e.g. CATALOG_GIT_TOKEN_SIGMAHQ), where the database never stores it"
        )
    if parts.scheme.lower() != "file" and not parts.hostname:
        raise SourceSettingError(f"{url!r}: no host")
    return url


def check_branch(branch: str) -> str:
    branch = (branch or "").strip()
    if branch and not _BRANCH.match(branch):
        raise SourceSettingError(f"{branch!r}: not a branch name")
    return branch


def check_paths(paths: list[str]) -> list[str]:
    """Folders inside the repository, relative, without '..'; [] (or '.') is the whole repository."""
    checked = []
    for path in paths:
        path = path.strip().strip("/")
        if not path or path == ".":
            return []
        parts = path.split("/")
        if path.startswith("-") or any(part in ("", ".", "..") for part in parts) or "\\" in path:
            raise SourceSettingError(f"{path!r}: a folder inside the repository, relative, without '.' or '..'")
        checked.append(path)
    return list(dict.fromkeys(checked))


def setting_for(mapping: dict, name: str) -> str:
    """A per-source setting: keyed by the source's name, or by its environment spelling (SIGMAHQ, TEAM_RULES)."""
    return mapping.get(name) or mapping.get(re.sub(r"[^A-Z0-9]", "_", name.upper())) or ""


# -- the checkout ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fetched:
    commit: str  # the branch's tip, now checked out
    previous: str  # the commit the catalog last imported ('' before the first sync)
    rewritten: bool  # `previous` is not an ancestor of `commit`: the branch was force-pushed (or rewritten)
    cloned: bool  # a fresh clone (no checkout folder yet, or a broken one)


class Checkout:
    """One git source's working copy, with its folders checked out (sparse) at the fetched commit."""

    def __init__(self, name: str, url: str, branch: str = "", paths: list[str] | None = None):
        self.name, self.url, self.branch, self.paths = check_name(name), check_url(url), branch, paths or []
        self.folder = Path(settings.CATALOG_SOURCES_DIR).expanduser().resolve() / name
        self.token = setting_for(settings.CATALOG_GIT_TOKENS, name)
        self.ssh_key = setting_for(settings.CATALOG_GIT_SSH_KEYS, name)

    @property
    def roots(self) -> list[str]:
        """The folders the import reads (the whole checkout when no folder is named)."""
        return [str(self.folder / path) for path in self.paths] or [str(self.folder)]

    def fetch(self, previous: str) -> Fetched:
        """Fetch the branch's tip and check it out; GitError (redacted) when the repository cannot be read."""
        cloned = not self._is_repository()
        if cloned:  # no checkout yet, or not a git repository any more (a crash, an operator's hand)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True)
            self.git("init", "--quiet")
            self.git("remote", "add", "origin", self.url)
        else:  # the URL may have changed: the objects fetched so far stay, so a move of the repository is cheap
            self.git("remote", "set-url", "origin", self.url)
        ref = f"refs/heads/{self.branch}" if self.branch else "HEAD"
        self.git("fetch", "--quiet", "--no-tags", "--filter=blob:none", "origin", f"+{ref}:refs/catalog/tip")
        commit = self.git("rev-parse", "--verify", "refs/catalog/tip^{commit}").strip()
        rewritten = bool(previous) and previous != commit and not self._is_ancestor(previous, commit)
        if self.paths:
            self.git("sparse-checkout", "set", "--cone", "--", *self.paths, *SPARSE_EXTRA)
        else:
            self.git("sparse-checkout", "disable")
        self.git("checkout", "--quiet", "--force", "--detach", commit)
        self.git("clean", "-ffdxq")  # whatever an earlier checkout or a crash left
        return Fetched(commit, previous, rewritten, cloned)

    def log(self, previous: str, commit: str) -> tuple[list[dict], dict[str, str]]:
        """The commits after `previous` up to `commit` that touched the imported folders (newest first), and
        for each file they touched, the newest of them (by display path, as the importer stores it)."""
        if not previous or not self._has_commit(previous):  # a first sync, or history rewritten past it
            span, limit = [commit], 1
        else:
            span, limit = [f"{previous}..{commit}"], LOG_LIMIT
        out = self.git(
            "log", f"--max-count={limit}", "--no-renames", "--name-only", "--format=%x1e%H%x1f%an%x1f%cI%x1f%s",
            *span, "--", *(self.paths or ["."]),
        )  # fmt: skip
        commits, file_commits = [], {}
        for entry in out.split("\x1e")[1:]:
            header, _, names = entry.partition("\n")
            sha, author, date, subject = (header.split("\x1f") + ["", "", ""])[:4]
            commits.append({"sha": sha, "subject": subject[:200], "author": author[:200], "date": date})
            for name in filter(None, names.splitlines()):
                display = self.display_path(name)
                if display:
                    file_commits.setdefault(display, sha)
        return commits, file_commits

    def display_path(self, repository_path: str) -> str:
        """A repository path as the importer's display path, '' outside the imported folders."""
        if not self.paths:
            return f"{self.folder.name}/{repository_path}"
        for folder in self.paths:
            if repository_path.startswith(folder + "/"):
                return folder.rsplit("/", 1)[-1] + repository_path[len(folder) :]
        return ""

    # -- running git ----------------------------------------------------------------------------------------
    def git(self, *args: str, check: bool = True) -> str:
        command = ["git", *self._config(), *args]
        try:
            process = subprocess.Popen(
                command,
                cwd=self.folder,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: a timeout kills ssh and the remote helpers too
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc}") from None
        timeout = settings.CATALOG_GIT_TIMEOUT_SECONDS
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise GitError(f"git {args[0]} took longer than {timeout:g} s (CATALOG_GIT_TIMEOUT_SECONDS)") from None
        if check and process.returncode != 0:
            raise GitError(self._failure(args[0], err.decode("utf-8", "replace")))
        self.returncode = process.returncode
        return out.decode("utf-8", "replace")

    def redact(self, text: str) -> str:
        for secret in filter(None, [self.token, self._basic_credential()]):
            text = text.replace(secret, "***")
        return _CREDENTIALS_IN_URL.sub(r"\1***@", text)

    def _failure(self, command: str, stderr: str) -> str:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        detail = "; ".join(line.removeprefix("fatal: ").removeprefix("error: ") for line in lines[-3:])
        if command in ("fetch", "clone"):
            detail = f"cannot fetch {self.url}: {detail or 'git failed'}"
            if re.search(r"(?i)could not resolve host|network is unreachable|connection timed out|failed to connect",
                         stderr):  # fmt: skip
                detail += " (no network, or the host is unreachable)"
        else:
            detail = f"git {command} failed: {detail or 'no message'}"
        return self.redact(detail)

    def _config(self) -> list[str]:
        options = {
            "core.symlinks": "false",  # a link in a repository is checked out as a file holding its target's name
            "http.lowSpeedLimit": "1000",  # a stalled transfer (under 1 KB/s for a minute) fails
            "http.lowSpeedTime": "60",
            "uploadpack.allowFilter": "true",  # for file:// repositories, whose upload-pack runs here
            "gc.auto": "0",  # no background gc racing the next sync
            "maintenance.auto": "false",
        }
        return [arg for key, value in options.items() for arg in ("-c", f"{key}={value}")]

    def _environment(self) -> dict[str, str]:
        # git's own variables are dropped (GIT_DIR, GIT_WORK_TREE... would point it elsewhere), except ssh's.
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in ("GIT_SSH_COMMAND", "GIT_SSH")}
        env.pop("SSH_ASKPASS", None)
        env.update(GIT_TERMINAL_PROMPT="0", GIT_ALLOW_PROTOCOL=":".join(URL_SCHEMES), LC_ALL="C", LANGUAGE="C")
        # Never the repository of a folder above the checkout (the project's own, when the checkouts are in it).
        env["GIT_CEILING_DIRECTORIES"] = str(self.folder.parent)
        env["GIT_ASKPASS"] = "true"  # an empty answer: a missing credential fails at once
        if self.ssh_key:
            env["GIT_SSH_COMMAND"] = (
                f"ssh -i {shlex.quote(self.ssh_key)} -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=30"
            )
        elif "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
            env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=30"
        credential = self._basic_credential()
        parts = urlsplit(self.url)
        if credential and parts.scheme.lower() in ("http", "https"):
            # Sent to this repository's host only (http.<url>.extraHeader), given to git in its environment.
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0=f"http.{parts.scheme}://{parts.netloc}/.extraHeader",
                GIT_CONFIG_VALUE_0=f"Authorization: Basic {credential}",
            )
        return env

    def _basic_credential(self) -> str:
        """`user:token` (GitLab deploy tokens) or a bare token (GitHub's x-access-token), base64 for Basic auth."""
        if not self.token:
            return ""
        pair = self.token if ":" in self.token else f"x-access-token:{self.token}"
        return base64.b64encode(pair.encode()).decode()

    def _is_repository(self) -> bool:
        if not (self.folder / ".git").is_dir():
            return False
        self.git("rev-parse", "--git-dir", check=False)
        return self.returncode == 0

    def _is_ancestor(self, older: str, newer: str) -> bool:
        self.git("merge-base", "--is-ancestor", older, newer, check=False)
        return self.returncode == 0  # 1: not an ancestor; 128: not even known here (a fresh clone)

    def _has_commit(self, commit: str) -> bool:
        self.git("cat-file", "-e", f"{commit}^{{commit}}", check=False)
        return self.returncode == 0
