"""Turning an ENGINE_ATTRIBUTE file entry into "which keys of which bucket".

Shared by every store so ``name``, ``prefix``, ``pattern`` and URI globs mean the same
thing on S3, in a local folder and behind a pre-authenticated URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from lakehouse.catalog.attributes import FileEntry
from lakehouse.errors import EngineAttributeError

GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Selection:
    """Keys to read in one bucket (or under one local root).

    Exactly one of ``name``, ``prefix`` and ``regex`` is set. ``list_root`` is the
    longest key prefix that every selected key shares, the place to start listing.
    """

    scheme: str  # "s3" or "file"
    bucket: str  # bucket, or "" for local files
    name: str | None = None
    prefix: str | None = None
    regex: re.Pattern[str] | None = None
    list_root: str = ""

    def matches(self, key: str) -> bool:
        if self.name is not None:
            return key == self.name
        if self.prefix is not None:
            return key.startswith(self.prefix)
        assert self.regex is not None
        return self.regex.search(key) is not None

    @property
    def is_single(self) -> bool:
        return self.name is not None


def select(entry: FileEntry) -> Selection:
    """The selection a file entry describes (``par`` entries are handled by the HTTP store)."""
    if entry.uri:
        return _select_uri(entry.uri)
    bucket = entry.bucket or ""
    if entry.name is not None:
        return Selection("s3", bucket, name=entry.name.lstrip("/"))
    if entry.prefix is not None:
        p = entry.prefix.lstrip("/")
        return Selection("s3", bucket, prefix=p, list_root=_dir_of(p))
    assert entry.pattern is not None
    return Selection("s3", bucket, regex=re.compile(entry.pattern), list_root="")


def _select_uri(uri: str) -> Selection:
    # Not urllib's urlparse: a glob's "?" is not the start of a query string here.
    scheme, sep, rest = uri.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise EngineAttributeError(f"Unsupported URI '{uri}'")
    netloc, _, path = rest.partition("/")
    if scheme == "file":
        if netloc not in ("", "localhost"):
            raise EngineAttributeError(f"file URI '{uri}' must be file:///absolute/path")
        return _selection("file", "", "/" + unquote(path))
    if scheme in ("s3", "s3a", "oci"):
        bucket = netloc.split("@", 1)[0] if scheme == "oci" else netloc  # oci://bucket@namespace/
        if not bucket:
            raise EngineAttributeError(f"URI '{uri}' names no bucket")
        return _selection("s3", bucket, unquote(path))
    raise EngineAttributeError(f"Unsupported URI scheme in '{uri}'")


def _selection(scheme: str, bucket: str, path: str) -> Selection:
    if any(ch in path for ch in GLOB_CHARS):
        first = min(path.index(ch) for ch in GLOB_CHARS if ch in path)
        root = _dir_of(path[:first])
        return Selection(scheme, bucket, regex=glob_to_regex(path), list_root=root)
    if path.endswith("/") or path == "":
        return Selection(scheme, bucket, prefix=path, list_root=path)
    return Selection(scheme, bucket, name=path)


def _dir_of(key: str) -> str:
    return key[: key.rfind("/") + 1] if "/" in key else ""


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """``data/*.csv`` -> a regex over whole keys; ``*`` and ``?`` stay within one path
    segment, ``**`` crosses segments, ``[...]`` is a character class.

    Example:
        >>> bool(glob_to_regex("d/*.csv").fullmatch("d/a.csv"))
        True
    """
    out = ["^"]
    i = 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            if glob[i : i + 2] == "**":
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out))


def is_hidden(key: str) -> bool:
    """Marker and metadata files that writers leave beside data (``_SUCCESS``, ``.crc``).

    They are skipped when listing a prefix or glob, never when named explicitly.
    """
    base = key.rsplit("/", 1)[-1]
    return base.startswith(("_", ".")) or base == ""
