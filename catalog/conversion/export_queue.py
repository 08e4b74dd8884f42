"""Starting the build of a whole-catalog export from a web request, at most once per export at a time.

A request for an export that is not built yet (catalog.conversion.built_exports) gets a 202 and, unless
a build of the same target and pipelines is already under way, starts one: a detached
`manage.py build_exports --target T --pipeline P --from-queue` process, which outlives the request and
a worker timeout, waits for the host's export lock (one build at a time per database and host, like
catalog.jobs.detached's runners) and releases this build's claim when it ends, done or failed.

The claims and the caps live in the shared cache (every worker and node sees them):
- one claim per (target, pipelines), taken with cache.add (atomic on Redis; on the database cache the
  losing insert fails), kept at most CATALOG_EXPORT_BUILD_SECONDS in case the builder dies;
- CATALOG_EXPORT_BUILDS_PER_CLIENT builds started per client and hour, and CATALOG_EXPORT_BUILDS_PER_HOUR
  for everyone (each build may use a CPU for minutes; the keys, target x pipeline sets, are many).
A later change moves the build to django.tasks: `start_build` then enqueues build_export instead.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connection

from .converter import Choice
from .exporting import pipeline_spelling

COMMAND = "build_exports"


@dataclass
class Enqueued:
    started: bool  # this request started a build
    refused: str = ""  # why no build could start (a cap reached, the process could not start)
    status: int = 202


def cache():
    return caches["shared"]


def claim_key(choice: Choice) -> str:
    return f"export-build:{choice.target.id}:{pipeline_spelling(choice)}"


def building(choice: Choice) -> bool:
    return cache().get(claim_key(choice)) is not None


def release(choice: Choice) -> None:
    cache().delete(claim_key(choice))


def _count(key: str) -> int:
    return int(cache().get(key) or 0)


def _bump(key: str) -> None:
    cache().add(key, 0, 3600)
    try:
        cache().incr(key)
    except ValueError:  # expired between the two calls
        cache().set(key, 1, 3600)


def enqueue(choice: Choice, rules_url: str, client: str) -> Enqueued:
    """Start this export's build unless one is under way or a cap is reached."""
    hour = int(time.time() // 3600)
    per_client, per_site = f"export-builds:client:{client}:{hour}", f"export-builds:site:{hour}"
    if building(choice):
        return Enqueued(started=False)
    if _count(per_client) >= settings.CATALOG_EXPORT_BUILDS_PER_CLIENT:
        return Enqueued(False, "you have started as many export builds as one client may this hour", 429)
    if _count(per_site) >= settings.CATALOG_EXPORT_BUILDS_PER_HOUR:
        return Enqueued(False, "the site has started as many export builds as it may this hour", 503)
    if not cache().add(claim_key(choice), client or "-", settings.CATALOG_EXPORT_BUILD_SECONDS):
        return Enqueued(started=False)  # another request claimed it first
    _bump(per_client)
    _bump(per_site)
    if start_build(choice, rules_url) is None:
        release(choice)
        return Enqueued(False, "the export builder could not start", 503)
    return Enqueued(started=True)


def start_build(choice: Choice, rules_url: str) -> int | None:
    """Start the detached builder of one export; its pid (None: it could not start)."""
    argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), COMMAND, "--from-queue"]
    argv += ["--target", choice.target.id, "--pipeline", pipeline_spelling(choice), "--rules-url", rules_url]
    argv += ["--database-name", str(connection.settings_dict["NAME"])]
    try:
        process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # not killed with the web worker
            close_fds=True,
        )
    except OSError:
        return None
    threading.Thread(target=process.wait, name=f"reap-{COMMAND}-{process.pid}", daemon=True).start()
    return process.pid
