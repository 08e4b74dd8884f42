"""Not a test module: a local git repository to sync from (a bare `file://` remote and a work clone that pushes
to it), made with the `git` binary inside the test's tmp_path, and a few tiny rules to put in it."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = ["-c", "user.name=Test Author", "-c", "user.email=test@example.org", "-c", "init.defaultBranch=main"]

RULE = """title: {title}
id: {uuid}
status: test
description: A tiny rule of the git source tests.
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '{image}'
    condition: selection
level: {level}
"""

ALPHA = "0b6d2a57-8d57-4f36-9e2a-1b0c3f6a7a01"
BETA = "0b6d2a57-8d57-4f36-9e2a-1b0c3f6a7a02"
GAMMA = "0b6d2a57-8d57-4f36-9e2a-1b0c3f6a7a03"
OUTSIDE = "0b6d2a57-8d57-4f36-9e2a-1b0c3f6a7a04"  # in a folder the source does not import


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


class Upstream:
    """A bare repository (the remote, at `url`) and a work clone whose commits are pushed to it."""

    def __init__(self, root: Path):
        self.bare, self.work = root / "remote.git", root / "work"
        self.bare.mkdir(parents=True)
        git("init", "--quiet", "--bare", cwd=self.bare)
        git("symbolic-ref", "HEAD", "refs/heads/main", cwd=self.bare)
        self.work.mkdir()
        git("init", "--quiet", cwd=self.work)
        git("remote", "add", "origin", self.bare.as_uri(), cwd=self.work)
        self.url = self.bare.as_uri()

    def write(self, path: str, uuid: str, title: str, image: str = "\\tool.exe", level: str = "high") -> None:
        target = self.work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(RULE.format(title=title, uuid=uuid, image=image, level=level))

    def remove(self, path: str) -> None:
        git("rm", "--quiet", path, cwd=self.work)

    def commit(self, message: str, force: bool = False) -> str:
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work)
        git("push", "--quiet", *(["--force"] if force else []), "origin", "HEAD:main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def reset_to(self, commit: str) -> None:
        git("reset", "--quiet", "--hard", commit, cwd=self.work)
