"""The interface the engine needs from object storage.

``connectors.objectstore`` implements it for S3-compatible stores, local folders and
HTTP(S) pre-authenticated URLs. The engine only ever sees :class:`ObjectInfo` values and
Arrow file handles, so formats and the loader are the same for every store.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

    from lakehouse.catalog.attributes import FileEntry


@dataclass(frozen=True)
class ObjectInfo:
    """One object (file) to read.

    Attributes:
        url: canonical URL for messages and manifests: ``s3://bucket/key``,
            ``file:///abs/path`` or an HTTP URL with any secret part masked.
        path: the path to give the store's Arrow filesystem.
        size: bytes.
        version: what the store said identifies this content, when the listing told
            (the S3 store's HEAD of a single object); not part of equality.
    """

    url: str
    path: str
    size: int
    version: Any = field(default=None, compare=False)

    @property
    def basename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class NativeLocation:
    """Where the query engine's own readers can fetch an object directly.

    Attributes:
        kind: ``s3`` or ``local``.
        url: ``s3://bucket/key`` or an absolute local path.
        bucket: the bucket (S3 only).
        options: endpoint, region, credentials and ``allow_http`` for the reader's S3
            client. Held in memory only; never logged or shown.
        fixed: what is at ``url`` never changes (a local copy named by the object's
            version): the same location is the same content.
    """

    kind: str
    url: str
    bucket: str = ""
    options: tuple[tuple[str, str], ...] = ()
    fixed: bool = False

    def __repr__(self) -> str:  # never show credentials
        return f"NativeLocation({self.kind!r}, {self.url!r})"


class ObjectStore(abc.ABC):
    """Lists and opens objects of one kind of storage."""

    def native_location(self, obj: ObjectInfo) -> NativeLocation | None:
        """How the query engine can read ``obj`` itself, or None if it cannot."""
        return None

    @abc.abstractmethod
    def list_objects(self, entry: FileEntry) -> list[ObjectInfo]:
        """Objects an ENGINE_ATTRIBUTE file entry selects, sorted by URL.

        Returns an empty list when nothing matches; the caller decides whether that is
        an error (``allow_missing_files``).

        Raises:
            ObjectNotFoundError: the bucket does not exist.
            ObjectStoreAccessError: credentials were refused.
        """

    @abc.abstractmethod
    def open(self, obj: ObjectInfo) -> pa.NativeFile:
        """A sequential input stream over the object's bytes."""

    @abc.abstractmethod
    def filesystem(self) -> pafs.FileSystem:
        """An Arrow filesystem that reads :attr:`ObjectInfo.path` values of this store."""


class StoreResolver(abc.ABC):
    """Finds the store for a file entry (by scheme, endpoint and region)."""

    @abc.abstractmethod
    def store_for(self, entry: FileEntry) -> ObjectStore: ...
