"""Files in local folders, named by ``file:///absolute/path`` URIs."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.fs as pafs

from connectors.objectstore.cache import ObjectVersion
from connectors.objectstore.selection import is_hidden, select
from lakehouse.catalog.attributes import FileEntry
from lakehouse.errors import ObjectNotFoundError, ObjectStoreError
from lakehouse.storage import NativeLocation, ObjectInfo, ObjectStore


class LocalObjectStore(ObjectStore):
    """Local files; keys are absolute paths."""

    def __init__(self) -> None:
        self._fs = pafs.LocalFileSystem()

    def filesystem(self) -> pafs.FileSystem:
        return self._fs

    def native_location(self, obj: ObjectInfo) -> NativeLocation | None:
        return NativeLocation("local", obj.path)

    def list_objects(self, entry: FileEntry) -> list[ObjectInfo]:
        sel = select(entry)
        if sel.is_single:
            path = sel.name or ""
            if os.path.isfile(path):
                return [_info(path)]
            return []
        root = sel.list_root or "/"
        if not os.path.isdir(root):
            # A prefix such as /data/part- lists its parent folder.
            parent = os.path.dirname(root.rstrip("/")) or "/"
            if not os.path.isdir(parent):
                raise ObjectNotFoundError(f"Folder {root} does not exist")
            root = parent
        out = []
        for dirpath, _dirs, files in os.walk(root):
            for f in files:
                path = os.path.join(dirpath, f)
                if sel.matches(path) and not is_hidden(path):
                    out.append(_info(path))
        return sorted(out, key=lambda o: o.url)

    def open(self, obj: ObjectInfo) -> pa.NativeFile:
        try:
            return self._fs.open_input_stream(obj.path, compression=None)
        except FileNotFoundError:
            raise ObjectNotFoundError(f"File {obj.url} does not exist") from None
        except OSError as exc:
            raise ObjectStoreError(f"Cannot read {obj.url}: {exc.strerror or exc}") from None


def _info(path: str) -> ObjectInfo:
    """A file, its version its modification time (what tells that its content changed)."""
    st = os.stat(path)
    return ObjectInfo(
        "file://" + path, path, st.st_size, ObjectVersion(f"mtime:{st.st_mtime_ns}", st.st_size)
    )
