"""Object storage: S3-compatible stores, local folders and HTTP(S) pre-authenticated URLs.

:class:`DefaultStoreResolver` picks the store for an ENGINE_ATTRIBUTE file entry and
caches one per S3 endpoint and region; its S3 stores share one :class:`ObjectCache`
of local copies for tables scanned in place, when it is given one.
"""

from __future__ import annotations

import threading

from connectors.objectstore.cache import ObjectCache, ObjectVersion, open_scan_cache
from connectors.objectstore.http import HttpObjectStore
from connectors.objectstore.local import LocalObjectStore
from connectors.objectstore.s3 import S3Endpoint, S3ObjectStore
from connectors.objectstore.selection import Selection, glob_to_regex, select
from lakehouse.catalog.attributes import FileEntry
from lakehouse.storage import ObjectStore, StoreResolver


class DefaultStoreResolver(StoreResolver):
    """S3 (per endpoint and region), local files and HTTP, created on first use.

    Example:
        >>> from lakehouse.catalog.attributes import FileEntry
        >>> r = DefaultStoreResolver()
        >>> type(r.store_for(FileEntry(uri="file:///tmp/x.csv"))).__name__
        'LocalObjectStore'
    """

    def __init__(self, cache: ObjectCache | None = None) -> None:
        self.cache = cache
        self._lock = threading.Lock()
        self._s3: dict[S3Endpoint, S3ObjectStore] = {}
        self._local = LocalObjectStore()
        self._http = HttpObjectStore()

    def store_for(self, entry: FileEntry) -> ObjectStore:
        if entry.par:
            return self._http
        # A Redshift manifest's entries live in the same store as the manifest itself.
        uri = (entry.uri or entry.manifest or "").lower()
        if uri.startswith("file:"):
            return self._local
        if uri.startswith(("http:", "https:")):
            return self._http
        endpoint = S3Endpoint.from_env(entry.endpoint, entry.region)
        with self._lock:
            store = self._s3.get(endpoint)
            if store is None:
                store = self._s3[endpoint] = S3ObjectStore(endpoint, self.cache)
            return store

    def reset(self) -> None:
        """Forget cached stores (after the AWS environment changed)."""
        with self._lock:
            self._s3.clear()


__all__ = [
    "DefaultStoreResolver",
    "HttpObjectStore",
    "LocalObjectStore",
    "ObjectCache",
    "ObjectVersion",
    "S3Endpoint",
    "S3ObjectStore",
    "Selection",
    "glob_to_regex",
    "open_scan_cache",
    "select",
]
