"""Redshift UNLOAD manifests: which objects an UNLOAD wrote, how big, and (VERBOSE) with
which columns.

A manifest is JSON::

    {"entries": [{"url": "s3://b/unload/0000_part_00", "meta": {"content_length": 5956}}],
     "schema": {"elements": [{"name": "id", "type": {"base": "integer"}}]},
     "meta": {"content_length": 5956, "record_count": 500}}

``schema`` and the top-level ``meta`` appear only with ``MANIFEST VERBOSE``. Every entry
must exist with the size the manifest gives: an UNLOAD whose parts were lost or rewritten
fails loudly instead of loading a silent subset. ``allow_missing_files`` turns a missing
part into a warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lakehouse.catalog.attributes import FileEntry
from lakehouse.errors import LoadError, ObjectNotFoundError
from lakehouse.formats.base import LoadWarnings
from lakehouse.storage import ObjectInfo, ObjectStore

MAX_MANIFEST_BYTES = 64 << 20


@dataclass(frozen=True)
class ManifestEntry:
    """One object an UNLOAD wrote."""

    url: str
    content_length: int | None


@dataclass(frozen=True)
class ManifestColumn:
    """One column of a VERBOSE manifest's schema, as Redshift names its type."""

    name: str
    base: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest."""

    url: str
    entries: tuple[ManifestEntry, ...]
    columns: tuple[ManifestColumn, ...] = ()
    record_count: int | None = None


def parse_manifest(data: bytes, url: str) -> Manifest:
    """Parse manifest JSON.

    Raises:
        LoadError: not a manifest; the message names the file.

    Example:
        >>> m = parse_manifest(b'{"entries": [{"url": "s3://b/0000_part_00"}]}', "s3://b/m")
        >>> m.entries[0].url
        's3://b/0000_part_00'
    """
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LoadError(f"Manifest {url} is not valid JSON: {exc}") from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise LoadError(f'Manifest {url} has no "entries" list; is it a Redshift UNLOAD manifest?')
    out = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("url"), str):
            raise LoadError(f'Entry {i} of manifest {url} has no "url"')
        meta = e.get("meta")
        length = meta.get("content_length") if isinstance(meta, dict) else None
        out.append(ManifestEntry(e["url"], int(length) if isinstance(length, int) else None))
    columns = []
    schema = doc.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("elements"), list):
        for el in schema["elements"]:
            if not isinstance(el, dict) or not isinstance(el.get("name"), str):
                continue
            typ = el.get("type")
            typ = typ if isinstance(typ, dict) else {}
            columns.append(
                ManifestColumn(
                    name=el["name"],
                    base=str(typ.get("base", "character varying")).lower(),
                    max_length=_int(typ.get("max_length")),
                    precision=_int(typ.get("precision")),
                    scale=_int(typ.get("scale")),
                )
            )
    top = doc.get("meta")
    count = _int(top.get("record_count")) if isinstance(top, dict) else None
    return Manifest(url, tuple(out), tuple(columns), count)


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def read_manifest(store: ObjectStore, entry: FileEntry) -> Manifest:
    """Fetch and parse the manifest a file entry names.

    Raises:
        ObjectNotFoundError: the manifest does not exist.
        LoadError: it is not a manifest.
    """
    url = entry.manifest or ""
    found = store.list_objects(_entry_for(entry, url))
    if not found:
        raise ObjectNotFoundError(
            f"Manifest {url} does not exist; give the manifest the UNLOAD wrote (<prefix>manifest)"
        )
    obj = found[0]
    if obj.size > MAX_MANIFEST_BYTES:
        raise LoadError(f"Manifest {url} is {obj.size} bytes; that is too big for a manifest")
    with store.open(obj) as f:
        data = f.read()
    return parse_manifest(data, url)


def manifest_objects(
    entry: FileEntry, store: ObjectStore, allow_missing: bool, warnings: LoadWarnings
) -> list[ObjectInfo]:
    """The objects a manifest lists, each checked to exist with the size it gives.

    Objects are found by listing each folder the entries live in once (not one request
    per part), then looking up anything the listing did not show directly.

    Raises:
        ObjectNotFoundError: an entry's object is missing and ``allow_missing`` is off.
        LoadError: an object's size differs from the manifest's ``content_length``.
    """
    manifest = read_manifest(store, entry)
    folders: dict[str, dict[str, ObjectInfo]] = {}
    out: list[ObjectInfo] = []
    for e in manifest.entries:
        folder = e.url[: e.url.rfind("/") + 1]
        if folder not in folders:
            listed = store.list_objects(_entry_for(entry, folder)) if folder else []
            folders[folder] = {o.url: o for o in listed}
        obj = folders[folder].get(e.url)
        if obj is None:
            single = store.list_objects(_entry_for(entry, e.url))
            obj = single[0] if single else None
        if obj is None:
            if allow_missing:
                warnings.add(
                    1017, f"{e.url} listed in manifest {manifest.url} does not exist; skipped"
                )
                continue
            raise ObjectNotFoundError(
                f"{e.url} listed in manifest {manifest.url} does not exist: the UNLOAD output "
                'is incomplete. Restore the part, or set "allow_missing_files": true to load '
                "without it"
            )
        if e.content_length is not None and obj.size != e.content_length:
            raise LoadError(
                f"{e.url} is {obj.size} bytes but manifest {manifest.url} says "
                f"{e.content_length}: the object was changed or truncated after the UNLOAD"
            )
        out.append(obj)
    return out


def _entry_for(entry: FileEntry, uri: str) -> FileEntry:
    return FileEntry(uri=uri, region=entry.region, endpoint=entry.endpoint)
