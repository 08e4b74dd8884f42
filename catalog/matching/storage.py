"""Where uploaded event files wait for their task: Django's storage API, STORAGES["uploads"].

The upload request saves the file through the storage and the task (possibly a worker on another machine)
reads it through the same storage, so any shared storage works: the default is a local folder,
CATALOG_MATCH_JOB_DIR; S3 through django-storages is a settings change (README, Deploying).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages


class UploadFolderStorage(FileSystemStorage):
    """A FileSystemStorage in CATALOG_MATCH_JOB_DIR, read at each use (so a changed setting applies at once)."""

    @property
    def base_location(self):
        return self._value_or_setting(self._location, settings.CATALOG_MATCH_JOB_DIR)

    @property
    def location(self):
        return os.path.abspath(self.base_location)


def upload_storage():
    return storages["uploads"]


@contextlib.contextmanager
def local_copy(name: str):
    """A local path holding the stored upload `name`: the file itself on a local folder, else a temporary copy
    (the parsers read files by path)."""
    storage = upload_storage()
    try:
        local = storage.path(name)
    except NotImplementedError:  # a remote storage (S3...) has no local path
        local = None
    if local is not None:
        yield Path(local)
        return
    with tempfile.NamedTemporaryFile(prefix="match-upload-", suffix=Path(name).suffix) as copy:
        with storage.open(name, "rb") as stored:
            shutil.copyfileobj(stored, copy, 1024 * 1024)
        copy.flush()
        yield Path(copy.name)


def delete_upload(name: str) -> None:
    if name:
        upload_storage().delete(name)
