"""Objects behind HTTP(S) pre-authenticated request (PAR) URLs.

A PAR URL either names one object, or ends in ``/o/`` and then takes ``name``,
``prefix`` or ``pattern``; listing uses the object-storage convention of a GET on the
``/o/`` URL with ``prefix`` and ``start`` parameters returning
``{"objects": [{"name": ..., "size": ...}], "nextStartWith": ...}``.
The secret path segment of a PAR is masked in every URL we show.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

import pyarrow as pa
import pyarrow.fs as pafs

from connectors.objectstore.selection import is_hidden
from lakehouse.catalog.attributes import FileEntry
from lakehouse.errors import ObjectNotFoundError, ObjectStoreAccessError, ObjectStoreError
from lakehouse.storage import ObjectInfo, ObjectStore

_TIMEOUT = 60


def mask(url: str) -> str:
    return re.sub(r"/p/[^/]+/", "/p/***/", url)


class HttpObjectStore(ObjectStore):
    """Reads objects over HTTP(S); paths are full URLs."""

    def __init__(self) -> None:
        self._fs: pafs.FileSystem | None = None

    def filesystem(self) -> pafs.FileSystem:
        if self._fs is None:
            import fsspec
            from fsspec.implementations.http import HTTPFileSystem  # noqa: F401

            self._fs = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem("http")))
        return self._fs

    def list_objects(self, entry: FileEntry) -> list[ObjectInfo]:
        par = entry.par or entry.uri or ""
        if not par.endswith("/o/"):
            return self._single(par)
        if entry.name is not None:
            return self._single(par + quote(entry.name))
        names = self._list_names(par, entry.prefix or "")
        if entry.pattern is not None:
            rx = re.compile(entry.pattern)
            names = [(n, s) for n, s in names if rx.search(n)]
        return [
            ObjectInfo(mask(par) + n, par + quote(n), s)
            for n, s in sorted(names)
            if not is_hidden(n)
        ]

    def open(self, obj: ObjectInfo) -> pa.NativeFile:
        try:
            resp = urllib.request.urlopen(obj.path, timeout=_TIMEOUT)
        except urllib.error.HTTPError as exc:
            raise _http_error(exc.code, obj.url) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ObjectStoreError(
                f"Cannot reach {obj.url}: {getattr(exc, 'reason', exc)}"
            ) from None
        return pa.PythonFile(resp, mode="r")

    def _single(self, url: str) -> list[ObjectInfo]:
        req = urllib.request.Request(url, method="HEAD")
        try:
            with urllib.request.urlopen(req, timeout=_TIMEOUT) as resp:
                size = int(resp.headers.get("Content-Length") or 0)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise _http_error(exc.code, mask(url)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ObjectStoreError(
                f"Cannot reach {mask(url)}: {getattr(exc, 'reason', exc)}"
            ) from None
        return [ObjectInfo(mask(url), url, size)]

    def _list_names(self, par: str, prefix: str) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        start: str | None = None
        while True:
            params = {"prefix": prefix, "fields": "name,size"}
            if start:
                params["start"] = start
            url = par + "?" + urlencode(params)
            try:
                with urllib.request.urlopen(url, timeout=_TIMEOUT) as resp:
                    doc = json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                raise _http_error(exc.code, mask(par)) from None
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise ObjectStoreError(f"Cannot list {mask(par)}: {exc}") from None
            for o in doc.get("objects", []):
                out.append((o["name"], int(o.get("size") or 0)))
            start = doc.get("nextStartWith")
            if not start:
                return out


def _http_error(code: int, url: str) -> ObjectStoreError:
    if code == 404:
        return ObjectNotFoundError(f"Object {url} does not exist")
    if code in (401, 403):
        return ObjectStoreAccessError(
            f"Access to {url} was refused (HTTP {code}); the PAR may have expired"
        )
    return ObjectStoreError(f"Reading {url} failed with HTTP {code}")
