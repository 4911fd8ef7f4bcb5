"""Redshift UNLOAD output: recognizing it, its manifests, and its column types.

UNLOAD writes ``<prefix>0000_part_00`` (``.gz``, ``.bz2``, ``.zst``, ``.parquet`` ...)
files, optionally under ``col=value/`` partition folders, and with ``MANIFEST`` a
``<prefix>manifest`` JSON file beside them. When a table's files are given as a prefix
or glob and a manifest is among them, the table reads the manifest's entries instead
(so the manifest itself is never read as data, and a lost part is an error naming it).
A ``MANIFEST VERBOSE`` manifest's schema supplies column names and exact types.

Text UNLOAD writes NULL as an empty field (the default ``NULL AS``); empty fields are
therefore NULL for text columns too in tables inferred from UNLOAD output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lakehouse.autopilot.report import STAGE_INFERENCE, Report
from lakehouse.catalog.attributes import FileEntry
from lakehouse.errors import LakehouseError
from lakehouse.formats.manifest import Manifest, ManifestColumn, parse_manifest, read_manifest
from lakehouse.storage import ObjectInfo, StoreResolver
from lakehouse.types import SqlType

_PART = re.compile(r"\d{4}_part_\d{2}(\.[A-Za-z0-9]+)*$")
_MANIFEST = re.compile(r"manifest(\.json)?$", re.IGNORECASE)
MAX_MANIFEST_PROBE = 64 << 20


def is_unload_part(path: str) -> bool:
    """Whether an object is named like an UNLOAD part (``..0003_part_00.gz``).

    Example:
        >>> is_unload_part("b/unload/sales_0003_part_00.gz")
        True
    """
    return bool(_PART.search(path.rsplit("/", 1)[-1]))


@dataclass(frozen=True)
class ManifestFound:
    """A manifest standing in for a prefix: the entry that replaces it, and its contents."""

    entry: dict[str, Any]
    manifest: Manifest


def use_manifests(
    table: str,
    entries: list[dict[str, Any]],
    parsed: list[FileEntry],
    stores: StoreResolver,
    report: Report,
) -> tuple[list[dict[str, Any]], list[Manifest]]:
    """Replace prefix/glob entries that contain an UNLOAD manifest by that manifest.

    Args:
        table: ``db.table`` for messages.
        entries: the file entries as given (JSON objects).
        parsed: the same, parsed.
        stores: to list and read objects.
        report: where decisions go.

    Returns:
        The entries to write into the table's ENGINE_ATTRIBUTE, and the manifests found
        (given or discovered).
    """
    out: list[dict[str, Any]] = []
    manifests: list[Manifest] = []
    for raw, entry in zip(entries, parsed, strict=True):
        store = stores.store_for(entry)
        if entry.manifest:
            manifests.append(read_manifest(store, entry))
            out.append(raw)
            continue
        if entry.name is not None or (entry.uri and not _is_listing(entry.uri)) or entry.par:
            out.append(raw)
            continue
        found = _find_manifest(store.list_objects(entry), store)
        if found is None:
            out.append(raw)
            continue
        obj, manifest = found
        replacement: dict[str, Any] = {"manifest": obj.url}
        for k in ("region", "endpoint", "is_strict_mode", "allow_missing_files"):
            if k in raw:
                replacement[k] = raw[k]
        report.info(
            STAGE_INFERENCE,
            f"{table}: {entry.describe()} holds the UNLOAD manifest {obj.url}; the table "
            f"reads the {len(manifest.entries)} part(s) it lists, each checked for size",
            table=table,
            manifest=obj.url,
            parts=len(manifest.entries),
        )
        manifests.append(manifest)
        out.append(replacement)
    return out, manifests


def _is_listing(uri: str) -> bool:
    return uri.endswith("/") or any(c in uri.split("://", 1)[-1] for c in "*?[")


def _find_manifest(objects: list[ObjectInfo], store: Any) -> tuple[ObjectInfo, Manifest] | None:
    for obj in objects:
        if not _MANIFEST.search(obj.basename) or obj.size > MAX_MANIFEST_PROBE:
            continue
        try:
            with store.open(obj) as f:
                return obj, parse_manifest(f.read(), obj.url)
        except LakehouseError:
            continue
    return None


# --------------------------------------------------------------------------- types
_TYPES = {
    "smallint": "SMALLINT",
    "int2": "SMALLINT",
    "integer": "INT",
    "int": "INT",
    "int4": "INT",
    "bigint": "BIGINT",
    "int8": "BIGINT",
    "real": "FLOAT",
    "float4": "FLOAT",
    "double precision": "DOUBLE",
    "float8": "DOUBLE",
    "float": "DOUBLE",
    "boolean": "BOOL",
    "bool": "BOOL",
    "date": "DATE",
    "time without time zone": "TIME",
    "time": "TIME",
    "timestamp without time zone": "DATETIME",
    "timestamp": "DATETIME",
}


def manifest_type(c: ManifestColumn) -> SqlType:
    """The MySQL type for a VERBOSE manifest column's Redshift type.

    ``numeric(p,s)`` is DECIMAL, ``character varying(n)`` VARCHAR(n), ``character(n)``
    CHAR(n); timestamps are DATETIME(6) (Redshift keeps microseconds). Types with a zone,
    SUPER, GEOMETRY and VARBYTE have no MySQL counterpart the cluster loads: they are
    text, as UNLOAD writes them.

    Example:
        >>> manifest_type(ManifestColumn("p", "numeric", precision=8, scale=2)).sql()
        'decimal(8,2)'
    """
    base = c.base.lower().strip()
    if base in ("numeric", "decimal"):
        return SqlType("DECIMAL", precision=min(c.precision or 18, 38), scale=c.scale or 0)
    if base in ("character varying", "varchar", "nvarchar", "text"):
        return SqlType("VARCHAR", length=max(1, c.max_length or 256))
    if base in ("character", "char", "bpchar", "nchar"):
        return SqlType("CHAR", length=max(1, c.max_length or 1))
    name = _TYPES.get(base)
    if name == "DATETIME":
        return SqlType("DATETIME", fsp=6)
    if name is not None:
        return SqlType(name)
    return SqlType("VARCHAR", length=max(1, c.max_length or 65535 // 4))
