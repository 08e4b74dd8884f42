"""A per-process cache bounded by bytes, least recently used out first: the page cache's embedded default.

Django's LocMemCache bounds the number of entries, not their size, so a worker's memory depended on
which pages visitors asked for (2,000 entries of up to 512 KB each: up to 1 GB per worker). Here each
value is pickled on `set` and its pickled size counted; past MAX_BYTES the least recently read entries
go, and a single value over MAX_ENTRY_BYTES is not kept at all. So the cache never holds more than
MAX_BYTES of values per process, whatever the corpus size or the variety of URLs.

    "BACKEND": "catalog.platform.byte_cache.ByteBoundedCache",
    "OPTIONS": {"MAX_BYTES": 32 * 1024 * 1024, "MAX_ENTRY_BYTES": 1024 * 1024},
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

# What each entry costs beyond its pickled bytes (key string, tuple, dict slot), counted against MAX_BYTES.
ENTRY_OVERHEAD = 200


class ByteBoundedCache(BaseCache):
    pickle_protocol = pickle.HIGHEST_PROTOCOL

    def __init__(self, name, params):
        super().__init__(params)
        options = params.get("OPTIONS", {})
        self.max_bytes = int(options.get("MAX_BYTES", 32 * 1024 * 1024))
        self.max_entry_bytes = min(int(options.get("MAX_ENTRY_BYTES", self.max_bytes // 8)), self.max_bytes)
        self._entries: OrderedDict[str, tuple[float | None, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        """What the entries cost now (never more than max_bytes)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            if self._expired(entry):
                self._remove(key)
                return default
            self._entries.move_to_end(key)
            data = entry[1]
        return pickle.loads(data)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        data = pickle.dumps(value, self.pickle_protocol)
        with self._lock:
            self._store(key, data, self.get_backend_timeout(timeout))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        data = pickle.dumps(value, self.pickle_protocol)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and not self._expired(entry):
                return False
            return self._store(key, data, self.get_backend_timeout(timeout))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self._expired(entry):
                return False
            self._entries[key] = (self.get_backend_timeout(timeout), entry[1])
            return True

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            return self._remove(key)

    def has_key(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            entry = self._entries.get(key)
            return entry is not None and not self._expired(entry)

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    # Under the lock.

    def _store(self, key: str, data: bytes, expiry: float | None) -> bool:
        self._remove(key)
        cost = len(data) + len(key) + ENTRY_OVERHEAD
        if cost > self.max_entry_bytes:
            return False
        while self._entries and self._bytes + cost > self.max_bytes:
            oldest = next(iter(self._entries))
            self._remove(oldest)
        self._entries[key] = (expiry, data)
        self._bytes += cost
        return True

    def _remove(self, key: str) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._bytes -= len(entry[1]) + len(key) + ENTRY_OVERHEAD
        return True

    @staticmethod
    def _expired(entry) -> bool:
        return entry[0] is not None and entry[0] <= time.time()
