"""Starting the build of a whole-catalog export from a web request, at most once per export at a time.

A request for an export that is not built yet (catalog.exports.built_exports) gets a 202 and, unless
a build of the same target and pipelines is already under way, enqueues one: the `build_export_task`
task (django.tasks), which a worker (`manage.py db_worker`) runs outside any request and which releases
this build's claim when it ends, done or failed. Each worker runs one task at a time.

The claims and the caps live in the shared cache (every worker and node sees them):
- one claim per (target, pipelines), taken with cache.add (atomic on Redis; on the database cache the
  losing insert fails), kept at most CATALOG_EXPORT_BUILD_SECONDS in case the builder dies;
- CATALOG_EXPORT_BUILDS_PER_CLIENT builds started per client and hour, and CATALOG_EXPORT_BUILDS_PER_HOUR
  for everyone (each build may use a CPU for minutes; the keys, target x pipeline sets, are many).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django_tasks import task

from catalog.conversion.converter import Choice, choose

from .built_exports import StoredExport, build_export
from .exporting import canonical_choice, pipeline_spelling

log = logging.getLogger(__name__)


@dataclass
class Enqueued:
    started: bool  # this request started a build
    refused: str = ""  # why no build could start (a cap reached, the task queue refused it)
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


def start_build(choice: Choice, rules_url: str) -> str | None:
    """Enqueue the build of one export; its task id (None: the queue refused it)."""
    try:
        return build_export_task.enqueue(choice.target.id, pipeline_spelling(choice), rules_url).id
    except Exception:  # noqa: BLE001 - the request answers 503 and releases the claim
        log.exception("cannot enqueue the build of %s (%s)", choice.target.id, pipeline_spelling(choice))
        return None


def build_and_release(choice: Choice, rules_url: str) -> StoredExport:
    """Build one export for the current catalog version, then release its claim (done or failed)."""
    try:
        return build_export(choice.target.id, choice.pipelines, rules_url)
    finally:
        release(choice)


@task()
def build_export_task(target: str, pipeline: str, rules_url: str) -> str:
    """The task a request enqueues: build one export (target and pipelines as the request chose them)."""
    built = build_and_release(canonical_choice(choose(target, pipeline)), rules_url)
    return f"{built.name}: {built.size} bytes, {built.exported} rules, {built.failed} not converted"
