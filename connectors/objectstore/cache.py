"""A bounded local copy of remote objects, for queries that read tables in place.

A query on a table that is not loaded reads its objects straight from object storage,
and the next query reads the same byte ranges again: over S3 that is many ranged GETs
per query, each paying a round trip and the server's time. DuckDB keeps the blocks it
read from remote files in memory for the same reason. Here the first query that reads
an object copies it whole into a folder under the engine's data dir (with several
ranged GETs at once); later queries read the copy, which the operating system's page
cache then keeps in memory.

Rules that keep it correct:

- An entry is named by a hash of the store, the object's URL, its ETag and its size,
  checked against the store (one HEAD) every time the object is planned into a query.
  An object that changed gets a new entry; the old one is never read again and is
  evicted first.
- Copies are written to a temporary file and renamed into place, and only one thread
  copies a given object at a time: a reader sees a whole copy or none. The object's
  ETag is checked again once copied, so a copy of an object that changed meanwhile is
  thrown away.
- The total size is bounded (``max_bytes``). Entries are evicted least recently used
  first, but never one used in the last ``min_idle`` seconds, because a running query
  may still be reading it. An object that cannot get room is read from the store in
  place instead: the cache only ever makes a query faster, never makes it fail.

One engine uses one cache folder; the index is rebuilt from the folder on start (file
modification times record the last use).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

SUFFIX = ".obj"
PART_SUFFIX = ".part"
# Default bound when none is configured: this share of the free disk space, at most CAP.
DEFAULT_SHARE = 0.25
DEFAULT_CAP = 16 << 30
# Objects larger than this share of the bound are never cached (they would evict all).
MAX_OBJECT_SHARE = 0.5


@dataclass(frozen=True)
class ObjectVersion:
    """What identifies the content of an object: its ETag (or modification time) and
    size, as the store reports them."""

    tag: str
    size: int


@dataclass
class _Entry:
    size: int
    last_used: float
    superseded: bool = False


class ObjectCache:
    """Whole-object copies of remote objects in a local folder, bounded in size.

    Args:
        root: the folder (created if missing).
        max_bytes: bound on the total size of the copies.
        min_idle: seconds an entry must have gone unused before it may be evicted.
        chunk_bytes: size of each ranged read when copying an object.
        parallel_reads: ranged reads in flight at once, over all copies.

    Example:
        >>> import io, tempfile
        >>> import pyarrow as pa
        >>> cache = ObjectCache(Path(tempfile.mkdtemp()), max_bytes=1 << 20)
        >>> data = b"hello"
        >>> path = cache.local_copy(
        ...     "s3://b/k", ObjectVersion('"etag1"', len(data)),
        ...     lambda: pa.BufferReader(data))
        >>> path.read_bytes()
        b'hello'
    """

    def __init__(
        self,
        root: Path,
        max_bytes: int,
        min_idle: float = 600.0,
        chunk_bytes: int = 8 << 20,
        parallel_reads: int = 4,
    ) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.min_idle = min_idle
        self.chunk_bytes = chunk_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._latest: dict[str, str] = {}  # cache key of a URL -> its newest entry
        self._copying: dict[str, threading.Lock] = {}
        self._reserved = 0  # bytes of copies in progress
        self._pool = ThreadPoolExecutor(parallel_reads, thread_name_prefix="object-cache")
        self._scan_folder()

    # ---------------------------------------------------------------- public
    @property
    def used_bytes(self) -> int:
        """Bytes held by complete copies and copies in progress."""
        with self._lock:
            return self._reserved + sum(e.size for e in self._entries.values())

    def local_copy(
        self,
        url: str,
        version: ObjectVersion,
        open_source: Callable[[], pa.NativeFile],
        check: Callable[[], ObjectVersion | None] | None = None,
    ) -> Path | None:
        """The path of a local copy of the object, copied now if needed.

        Args:
            url: the object's identity, including its store (``s3://endpoint/bucket/key``).
            version: its current ETag and size.
            open_source: opens the object for random access (called only to copy it).
            check: the object's version now, asked once a copy is made; a copy whose
                object changed meanwhile is thrown away.

        Returns:
            The copy's path, or None when the object should be read in place (too big,
            no room, or the copy failed).
        """
        if version.size > self.max_bytes * MAX_OBJECT_SHARE:
            return None
        name = _entry_name(url, version)
        path = self.root / name
        if self._use(name, path):
            return path
        with self._lock:
            copying = self._copying.setdefault(name, threading.Lock())
        with copying:  # one copy of an object at a time; others wait and reuse it
            if self._use(name, path):
                return path
            if not self._reserve(version.size):
                return None
            try:
                ok = self._copy(path, version, open_source, check)
            except Exception as exc:  # a copy that fails just means reading in place
                log.warning("could not cache %s: %s", url, str(exc).splitlines()[0][:200])
                ok = False
            with self._lock:
                self._reserved -= version.size
                self._copying.pop(name, None)
                if not ok:
                    return None
                self._entries[name] = _Entry(version.size, time.time())
                old = self._latest.get(_url_key(url))
                if old is not None and old != name and old in self._entries:
                    self._entries[old].superseded = True
                self._latest[_url_key(url)] = name
            return path

    def clear(self) -> None:
        """Remove every copy not in use within ``min_idle`` seconds."""
        with self._lock:
            self._evict(self.max_bytes + 1)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # ------------------------------------------------------------- internals
    def _use(self, name: str, path: Path) -> bool:
        """Mark an existing entry used now; False if there is none."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return False
            now = time.time()
            try:
                os.utime(path, (now, now))  # the last use survives a restart
            except FileNotFoundError:  # removed behind our back
                del self._entries[name]
                return False
            entry.last_used = now
            return True

    def _reserve(self, size: int) -> bool:
        """Make room for ``size`` more bytes, evicting idle entries; False if there is none."""
        with self._lock:
            used = self._reserved + sum(e.size for e in self._entries.values())
            if used + size > self.max_bytes:
                used -= self._evict(used + size - self.max_bytes)
            if used + size > self.max_bytes:
                return False
            self._reserved += size
            return True

    def _evict(self, needed: int) -> int:
        """Delete idle entries, superseded and least recently used first, until
        ``needed`` bytes are freed or none is left. Called with the lock held."""
        idle_before = time.time() - self.min_idle
        victims = sorted(
            (n for n, e in self._entries.items() if e.last_used < idle_before),
            key=lambda n: (not self._entries[n].superseded, self._entries[n].last_used),
        )
        freed = 0
        for name in victims:
            if freed >= needed:
                break
            try:
                (self.root / name).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not evict cached object %s: %s", name, exc)
                continue
            freed += self._entries.pop(name).size
        return freed

    def _copy(
        self,
        path: Path,
        version: ObjectVersion,
        open_source: Callable[[], pa.NativeFile],
        check: Callable[[], ObjectVersion | None] | None,
    ) -> bool:
        part = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}{PART_SUFFIX}")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with open_source() as source:
                if source.size() != version.size:
                    return False
                os.ftruncate(fd, version.size)
                offsets = range(0, version.size, self.chunk_bytes)

                def copy_chunk(offset: int) -> None:
                    n = min(self.chunk_bytes, version.size - offset)
                    data = source.read_at(n, offset)
                    if len(data) != n:
                        raise OSError(f"short read at {offset}: {len(data)} of {n} bytes")
                    os.pwrite(fd, data, offset)

                if len(offsets) <= 1:
                    for offset in offsets:
                        copy_chunk(offset)
                else:
                    # Ranged reads in parallel: one stream rarely fills the link.
                    list(self._pool.map(copy_chunk, offsets))
            if check is not None and check() != version:
                return False
            os.close(fd)
            fd = -1
            os.replace(part, path)
            return True
        finally:
            if fd >= 0:
                os.close(fd)
            part.unlink(missing_ok=True)

    def _scan_folder(self) -> None:
        """Rebuild the index from the folder; remove copies left half-written."""
        for p in self.root.iterdir():
            if p.name.endswith(PART_SUFFIX):
                if not _writer_alive(p.name):
                    p.unlink(missing_ok=True)
            elif p.name.endswith(SUFFIX) and p.is_file():
                st = p.stat()
                self._entries[p.name] = _Entry(st.st_size, st.st_mtime)
        used = sum(e.size for e in self._entries.values())
        if used > self.max_bytes:  # the bound was lowered since the last run
            self._evict(used - self.max_bytes)


def open_scan_cache(data_dir: Path, setting: str | None = None) -> ObjectCache | None:
    """The object cache of an engine, in ``<data_dir>/scan-cache``.

    Args:
        data_dir: the engine's data dir.
        setting: its size, as ``LAKEHOUSE_SCAN_CACHE_SIZE`` gives it (``512M``,
            ``20G``; ``0`` turns the cache off). None: the environment's value, else a
            quarter of the free disk space, at most 16 GiB.

    Returns:
        The cache, or None when it is off or the folder cannot be used.
    """
    from lakehouse.config import parse_size

    if setting is None:
        setting = os.environ.get("LAKEHOUSE_SCAN_CACHE_SIZE")
    root = Path(data_dir) / "scan-cache"
    try:
        if setting is not None and setting.strip():
            max_bytes = parse_size(setting)
        else:
            root.mkdir(parents=True, exist_ok=True)
            st = os.statvfs(root)
            max_bytes = min(DEFAULT_CAP, int(st.f_bavail * st.f_frsize * DEFAULT_SHARE))
        if max_bytes <= 0:
            return None
        return ObjectCache(root, max_bytes)
    except OSError as exc:
        log.warning("object cache disabled: cannot use %s: %s", root, exc)
        return None


def _entry_name(url: str, version: ObjectVersion) -> str:
    digest = hashlib.sha256(f"{url}\0{version.tag}\0{version.size}".encode()).hexdigest()
    return digest[:40] + SUFFIX


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:40]


def _writer_alive(part_name: str) -> bool:
    """Whether the process that is writing a ``.part`` file still runs."""
    try:
        pid = int(part_name.split(".")[2])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
