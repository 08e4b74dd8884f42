"""Whole-catalog SIEM exports, built once per catalog version outside any web request and kept in storage.

Converting every rule takes 12-22 s (3,800 rules; more with more rules): too long for a web worker,
which got killed mid-stream and left clients a truncated 200. So /rules/export/<file> without filters
serves a file built here, by `build_export` (run by `manage.py build_exports`, or by the task a web request
enqueues: catalog.exports.export_queue), stored through Django's storage API
(STORAGES["exports"]) under the target, the canonical pipeline set and the catalog version:

    <target>/<pipelines>/<version>.<ext>    the export, as convert_rules writes it
    <target>/<pipelines>/<version>.manifest.json its manifest, saved last: a file without one is not served

The version is CatalogVersion's number and the time it changed (so a database restored to an older
number never meets a file built from other rules). Once a build is stored, the files of older versions
of the same key are deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from dataclasses import dataclass

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.http import QueryDict
from django.utils import timezone

from catalog.conversion.converter import Choice, choose
from catalog.conversion.formats import bulk_format
from catalog.models import CatalogVersion

from .exporting import ExportReport, canonical_choice, export_rules, ordered_ids, pipeline_spelling

STORAGE = "exports"
SAFE_PIPELINES = re.compile(r"[A-Za-z0-9_.,-]{1,200}")
logger = logging.getLogger("catalog.exports")


@dataclass(frozen=True)
class StoredExport:
    name: str  # the export file's name in the storage
    size: int
    version: str
    exported: int
    failed: int

    @property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.name.encode()).hexdigest()[:16]}"'


def storage():
    return storages[STORAGE]


def current_version() -> str:
    number, changed_at = CatalogVersion.state()
    return f"{number}-{int(changed_at.timestamp() * 1_000_000) if changed_at else 0}"


def folder(choice: Choice) -> str:
    """`<target>/<pipelines>`: pipeline ids as they are when they are plain names, else their digest."""
    spelling = pipeline_spelling(choice)
    if not SAFE_PIPELINES.fullmatch(spelling):
        spelling = hashlib.sha256(spelling.encode()).hexdigest()[:32]
    return f"{choice.target.id}/{spelling}"


def find_export(choice: Choice, version: str) -> StoredExport | None:
    """The stored export of this choice and catalog version, when its build is complete."""
    choice = canonical_choice(choice)
    manifest_name = f"{folder(choice)}/{version}.manifest.json"
    store = storage()
    if not store.exists(manifest_name):
        return None
    with store.open(manifest_name, "rb") as handle:
        manifest = json.load(handle)
    name = manifest["file"]
    if not store.exists(name) or store.size(name) != manifest["size"]:
        return None
    return StoredExport(name, manifest["size"], version, manifest["exported"], manifest["failed"])


def build_export(target: str, pipelines: tuple[str, ...] | str, rules_url: str) -> StoredExport:
    """Convert every public live rule for `target` and `pipelines` into the target's export format and store
    it for the current catalog version (rule links under `rules_url`, the rule list's address: https://host/rules/)."""
    spelled = pipelines if isinstance(pipelines, str) else (",".join(pipelines) or "none")
    choice = canonical_choice(choose(target, spelled))
    export_format = bulk_format(choice.target.id, None)
    version = current_version()
    base = rules_url.rstrip("/")
    report = ExportReport()
    from catalog.browse.queries.rules import rule_filterset  # the rule list's own selection: public, live

    every_rule = rule_filterset(QueryDict())
    pieces = export_rules(
        lambda: ordered_ids(every_rule.qs), export_format.id, choice, lambda uuid: f"{base}/{uuid}/", report
    )
    store = storage()
    name = f"{folder(choice)}/{version}.{export_format.extension}"
    with tempfile.TemporaryFile() as spool:  # whole before anything is stored: a failed build leaves nothing
        for piece in pieces:
            spool.write(piece.encode("utf-8"))
        size = spool.tell()
        spool.seek(0)
        for stale in (name, f"{folder(choice)}/{version}.manifest.json"):  # an earlier attempt of this same version
            store.delete(stale)
        saved = store.save(name, File(spool, name=name))
    manifest = {
        "file": saved,
        "size": size,
        "version": version,
        "target": choice.target.id,
        "pipelines": list(choice.pipelines),
        "format": export_format.id,
        "converted_by": choice.versions,
        "exported": report.exported,
        "failed": len(report.failures),
        "built_at": timezone.now().isoformat(),
    }
    store.save(f"{folder(choice)}/{version}.manifest.json", ContentFile(json.dumps(manifest).encode("utf-8")))
    delete_older(choice, version)
    logger.info("Built %s (%d bytes, %d rules, %d not converted)", saved, size, report.exported, len(report.failures))
    return StoredExport(saved, size, version, report.exported, len(report.failures))


def version_number(file_name: str) -> int | None:
    head = file_name.split("-", 1)[0]
    return int(head) if head.isascii() and head.isdigit() else None


def delete_older(choice: Choice, version: str) -> int:
    """Delete this key's files of versions before `version` (a newer one built meanwhile is kept)."""
    store = storage()
    where = folder(choice)
    newest = version_number(version)
    _, files = store.listdir(where)
    deleted = 0
    for file_name in files:
        number = version_number(file_name)
        same = file_name.split(".", 1)[0] == version
        if number is not None and (number < newest or (number == newest and not same)):
            store.delete(f"{where}/{file_name}")
            deleted += 1
    return deleted
