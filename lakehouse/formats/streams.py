"""Byte-stream plumbing shared by the text formats: decompression, delimiter rewriting,
and peeking at the start of an object for detection."""

from __future__ import annotations

import io
import zipfile

import pyarrow as pa

from lakehouse.errors import LoadError
from lakehouse.storage import ObjectInfo, ObjectStore

_EXTENSIONS = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".bz2": "bz2",
    ".zst": "zstd",
    ".zstd": "zstd",
    ".zip": "zip",
}
_NAMES = {"gzip": "gzip", "bzip2": "bz2", "bz2": "bz2", "zstd": "zstd", "zip": "zip"}


def compression_of(obj: ObjectInfo, declared: str) -> str | None:
    """The codec for an object: declared in the dialect, else from its extension.

    Example:
        >>> compression_of(ObjectInfo("s3://b/x.tbl.gz", "b/x.tbl.gz", 1), "auto")
        'gzip'
    """
    if declared not in ("auto", ""):
        return None if declared == "none" else _NAMES[declared]
    lower = obj.path.lower()
    for ext, codec in _EXTENSIONS.items():
        if lower.endswith(ext):
            return codec
    return None


def open_decompressed(store: ObjectStore, obj: ObjectInfo, codec: str | None) -> pa.NativeFile:
    """The object's bytes, decompressed when ``codec`` says so."""
    raw = store.open(obj)
    if codec is None:
        return raw
    if codec == "zip":
        data = raw.read()
        raw.close()
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise LoadError(
                        f"{obj.url} is a zip archive with {len(names)} files; expected one"
                    )
                return pa.BufferReader(zf.read(names[0]))
        except zipfile.BadZipFile:
            raise LoadError(f"{obj.url} is not a valid zip archive") from None
    return pa.CompressedInputStream(raw, codec)


def peek(store: ObjectStore, obj: ObjectInfo, codec: str | None, size: int = 1 << 16) -> bytes:
    """Up to ``size`` decompressed bytes from the start of the object."""
    stream = open_decompressed(store, obj, codec)
    try:
        return stream.read(size)
    except (OSError, pa.ArrowException) as exc:
        raise LoadError(f"Cannot read {obj.url}: {exc}") from None
    finally:
        stream.close()


class ReplacingStream(io.RawIOBase):
    """A read-only stream that rewrites byte sequences on the fly.

    Used for record delimiters Arrow's CSV reader does not know (anything but
    ``\\n``, ``\\r\\n``, ``\\r``) and for multi-byte field delimiters. Matches that span a
    chunk boundary are handled by holding back the last ``len(longest) - 1`` bytes.
    """

    def __init__(self, source: pa.NativeFile, replacements: list[tuple[bytes, bytes]]) -> None:
        super().__init__()
        self._src = source
        self._repl = replacements
        self._hold = max(len(a) for a, _ in replacements) - 1
        self._pending = b""
        self._out = bytearray()
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._out and not self._eof:
            chunk = self._src.read(1 << 20)
            if not chunk:
                self._eof = True
                data, self._pending = self._pending, b""
            else:
                data = self._pending + chunk
                cut = len(data) - self._hold if self._hold else len(data)
                data, self._pending = data[:cut], data[cut:]
            for a, b in self._repl:
                data = data.replace(a, b)
            self._out += data
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        del self._out[:n]
        return n

    def close(self) -> None:
        self._src.close()
        super().close()
